using System.Globalization;
using Stella.Model;
using Stella.Model.Modules;
using Stella.Model.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Continual.Learning;

/// <summary>
/// ESMER (Sarfraz et al. 2023, thesis Sec. 2.8): a semantic memory (an exponential moving average of the working model, updated at
/// random with probability r) measures each new clip's loss; against a running mean of those losses, a clip whose loss is at least
/// margin x the mean is down-weighted (weight mean / loss) in the step and kept out of the rehearsal memory, so a sudden shift of
/// the data moves the representation less. Replayed items join the batch and their embeddings are pulled towards the semantic
/// memory's (gamma x MSE, audio plus video). The running mean follows the batch's losses without its outliers (above the batch's
/// mean + beta std). As in the STELLA authors' version: the per-clip loss is the whole objective (MAE audio + MAE video + weight x
/// the clip's InfoNCE); the average updates before the optimizer step; the working model is the one evaluated. The extra model
/// counts against the memory budget.
/// </summary>
public sealed class EsmerLearner : Learner
{
    private const string StateFile = "esmer-state.txt";
    private readonly EmaModel _semantic;
    private double _meanLoss;

    /// <summary>Creates the learner and its semantic memory (a copy of the trainer's backbone).</summary>
    public EsmerLearner(ModelTrainer trainer, LearnerOptions options)
        : base("esmer", trainer, options, ExperienceReplayLearner.ItemBytesFor(trainer, penalty: false), trainer.BackboneBytes)
    {
        _semantic = new EmaModel(trainer, "esmer-semantic", options.EsmerDecay, options.EsmerRate);
    }

    /// <summary>The semantic memory (for tests).</summary>
    public EmaModel Semantic => _semantic;

    /// <summary>The running mean of the clips' losses under the semantic memory (0 before the first step).</summary>
    public double MeanLoss => _meanLoss;

    /// <summary>The clips of the last step kept out of the memory for their loss (for tests and the log).</summary>
    public int LastExcluded { get; private set; }

    /// <summary>The last batch's clip losses under the semantic memory (for tests).</summary>
    public IReadOnlyList<double> LastClipLosses { get; private set; } = [];

    /// <inheritdoc />
    protected override LearnerStep TrainCore(StepWork work)
    {
        var batch = work.Batch;
        var b = batch.Count;
        var losses = ClipLosses(batch);
        LastClipLosses = losses;
        var weights = new float[b];
        var excluded = new bool[b];
        for (var i = 0; i < b; i++)
        {
            var high = _meanLoss > 0 && losses[i] >= Options.EsmerLossMargin * _meanLoss;
            weights[i] = high ? (float)(_meanLoss / losses[i]) : 1f;
            excluded[i] = _meanLoss > 0 && losses[i] > Options.EsmerLossMargin * _meanLoss;
        }

        work.KeepOutOfMemory = excluded;
        LastExcluded = excluded.Count(e => e);
        var (audio, video, replayed) = BatchWithReplay(work);
        Func<PretrainOutput, Tensor?>? extra = null;
        if (replayed is ({ } ra, { } rv))
        {
            var (targetA, targetV) = Targets(ra, rv);
            // Weights minus one: the batch's clips as weighed, the replayed rows 1 (so 0 here). The training loss is the mean of the
            // rows' losses (equal mask counts per row), so adding the mean of (w - 1) x loss gives the mean of w x loss.
            var rowsTotal = b + work.Replay.Count;
            var shift = torch.zeros(rowsTotal, device: Trainer.Device);
            using (var head = shift.narrow(0, 0, b))
            using (var w = torch.tensor(weights, device: Trainer.Device))
            {
                head.copy_(w.Minus(torch.ones_like(w)));
            }

            var consistency = EmbeddingPenalty(targetA, targetV, b, Options.EsmerWeight);
            extra = output =>
            {
                using var nce = Losses.InfoNceRows(output.PooledAudio, output.PooledVideo);
                using var weightedNce = nce.Times(Trainer.Options.ContrastiveWeight);
                using var rowLoss = output.PerSampleMae.Plus(weightedNce);
                using var shifted = rowLoss.mul(shift);
                using var reweighting = shifted.mean();
                using var penalty = consistency(output);
                return reweighting.Plus(penalty);
            };
        }

        _semantic.MaybeUpdate(Trainer.Backbone, Steps + 1, Memory!.NextDouble());
        var rows = audio.shape[0];
        var r = Trainer.Train(audio, AllAudio(rows), video, AllVideo(rows), extra);
        UpdateMeanLoss(losses);
        return new LearnerStep(r.MaeAudio, r.MaeVideo, r.Contrastive, r.Extra, float.NaN, work.Replay.Count);
    }

    // Each clip's loss under the semantic memory (its own random masks, no gradient).
    private double[] ClipLosses(StreamBatch batch)
    {
        using var noGrad = torch.no_grad();
        var b = batch.Count;
        var output = _semantic.Model.Pretrain(batch.Audio, AllAudio(b), batch.Video, AllVideo(b), Trainer.Generator, Trainer.Options.MaskRatio);
        var nce = Losses.InfoNceRows(output.PooledAudio, output.PooledVideo);
        var total = output.PerSampleMae.Plus(nce.Times(Trainer.Options.ContrastiveWeight));
        return total.cpu().data<float>().ToArray().Select(v => (double)v).ToArray();
    }

    private (Tensor Audio, Tensor Video) Targets(Tensor audio, Tensor video)
    {
        using var noGrad = torch.no_grad();
        var n = audio.shape[0];
        var output = _semantic.Model.Pretrain(audio, AllAudio(n), video, AllVideo(n), Trainer.Generator, Trainer.Options.MaskRatio);
        return (output.PooledAudio, output.PooledVideo);
    }

    // mean <- a mean + (1 - a) mean(losses without those above the batch's mean + beta std), a = min(1 - 1 / (step + 1), alpha_l).
    private void UpdateMeanLoss(double[] losses)
    {
        var mean = losses.Average();
        var std = losses.Length > 1 ? Math.Sqrt(losses.Sum(l => (l - mean) * (l - mean)) / (losses.Length - 1)) : 0;
        var kept = losses.Where(l => l <= mean + (Options.EsmerStdMargin * std)).ToList();
        var a = Math.Min(1 - (1.0 / (Steps + 2)), Options.EsmerLossDecay);
        _meanLoss = (a * _meanLoss) + ((1 - a) * kept.Average());
    }

    /// <inheritdoc />
    protected override void RememberCore(StepWork work)
    {
        var excluded = work.KeepOutOfMemory;
        Store(work.Batch, i => new Memory.MemoryItem { AudioPatches = Row(work.Batch.Audio, i), VideoPatches = Row(work.Batch.Video, i) },
            include: excluded is null ? null : i => !excluded[i]);
    }

    /// <inheritdoc />
    public override void InitialWeightsLoaded() => _semantic.CopyFrom(Trainer.Backbone);

    /// <inheritdoc />
    public override IReadOnlyList<string> SaveExtraState(string dir)
    {
        // G17 gives the double back bit for bit.
        File.WriteAllText(Path.Combine(dir, StateFile), _meanLoss.ToString("G17", CultureInfo.InvariantCulture));
        return [_semantic.Save(dir), StateFile];
    }

    /// <inheritdoc />
    public override void LoadExtraState(string dir)
    {
        _semantic.Load(dir);
        _meanLoss = double.Parse(File.ReadAllText(Path.Combine(dir, StateFile)), NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    protected override void DisposeExtra() => _semantic.Dispose();
}
