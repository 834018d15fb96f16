using Stella.Model;
using Stella.Model.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Continual.Learning;

/// <summary>
/// An exponential moving average of the working backbone (CLS-ER's plastic and stable models, ESMER's semantic memory), as the
/// STELLA authors' versions keep it: a full copy of the model without gradient, updated with probability <c>rate</c> per step by
/// theta_ema = a theta_ema + (1 - a) theta with a = min(1 - 1 / (step + 1), decay), before the step's optimizer update.
/// </summary>
public sealed class EmaModel : IDisposable
{
    private readonly Backbone _model;

    /// <summary>Starts as a copy of <paramref name="trainer"/>'s backbone.</summary>
    public EmaModel(ModelTrainer trainer, string name, double decay, double rate)
    {
        _model = trainer.CopyBackbone();
        Name = name;
        Decay = decay;
        Rate = rate;
    }

    /// <summary>File stem in a checkpoint ("clser-plastic").</summary>
    public string Name { get; }

    /// <summary>The decay cap (alpha).</summary>
    public double Decay { get; }

    /// <summary>The probability of an update at a step (r).</summary>
    public double Rate { get; }

    /// <summary>The averaged model (no gradient).</summary>
    public Backbone Model => _model;

    /// <summary>
    /// Updates towards <paramref name="working"/> when <paramref name="draw"/> (uniform in [0, 1)) is below the rate; the decay ramps
    /// in over the first steps. Returns whether it updated.
    /// </summary>
    public bool MaybeUpdate(Backbone working, long step, double draw)
    {
        if (draw >= Rate)
        {
            return false;
        }

        var a = Math.Min(1 - (1.0 / (step + 1)), Decay);
        using var noGrad = torch.no_grad();
        using var keep = a.ToScalar();
        using var take = (1 - a).ToScalar();
        foreach (var (average, current) in _model.parameters().Zip(working.parameters()))
        {
            average.mul_(keep).add_(current, take);
        }

        return true;
    }

    /// <summary>Starts over as a copy of <paramref name="working"/> (after initial weights were loaded into it).</summary>
    public void CopyFrom(Backbone working)
    {
        using var noGrad = torch.no_grad();
        foreach (var (average, current) in _model.parameters().Zip(working.parameters()))
        {
            average.copy_(current);
        }
    }

    /// <summary>Writes the weights as <c>{Name}.bin</c> into a checkpoint folder; returns the file name.</summary>
    public string Save(string dir)
    {
        var file = $"{Name}.bin";
        _model.save(Path.Combine(dir, file));
        return file;
    }

    /// <summary>Loads what <see cref="Save"/> wrote.</summary>
    public void Load(string dir)
    {
        _model.load(Path.Combine(dir, $"{Name}.bin"));
        foreach (var p in _model.parameters())
        {
            p.requires_grad = false;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _model.Dispose();
}
