using Stella.Core;
using System.Text.Json;
using Stella.Model.Config;
using Stella.Model.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Model.Weights;

/// <summary>What <c>stella weights import</c> records next to the weights it writes.</summary>
public sealed record WeightsInfo(string Model, string From, string File, string? AvmFile, int Loaded);

/// <summary>
/// A weights folder: <c>backbone.bin</c> and <c>avm.bin</c> (TorchSharp's format, the files a checkpoint holds) and, when written by
/// an import, <c>weights.json</c>. Runs start from one with <c>init:</c>/<c>--init</c>, which also takes a run folder (its latest
/// checkpoint) or a checkpoint folder: weights only, the optimizers and the memory start fresh.
/// </summary>
public static class WeightsFolder
{
    /// <summary>The record an import writes.</summary>
    public const string InfoName = "weights.json";

    /// <summary>Writes the weights of <paramref name="backbone"/> and <paramref name="avm"/> and <paramref name="info"/> into <paramref name="dir"/>.</summary>
    public static void Write(string dir, Backbone backbone, Avm avm, WeightsInfo info)
    {
        Directory.CreateDirectory(dir);
        backbone.save(Path.Combine(dir, "backbone.bin"));
        avm.save(Path.Combine(dir, "avm.bin"));
        File.WriteAllText(Path.Combine(dir, InfoName), JsonSerializer.Serialize(info, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The folder holding backbone.bin for <paramref name="path"/>: a weights or checkpoint folder, or a run folder's latest checkpoint.</summary>
    public static string Resolve(string path)
    {
        if (File.Exists(Path.Combine(path, "backbone.bin")))
        {
            return path;
        }

        foreach (var checkpoints in new[] { Path.Combine(path, "checkpoints"), path })
        {
            var latest = Path.Combine(checkpoints, "LATEST");
            if (File.Exists(latest))
            {
                var dir = Path.Combine(checkpoints, File.ReadAllText(latest).Trim());
                if (File.Exists(Path.Combine(dir, "backbone.bin")))
                {
                    return dir;
                }

                throw new UserInputException($"{latest}: names {dir}, which holds no backbone.bin");
            }
        }

        throw new UserInputException(
            $"{path}: no weights there: expected a folder from 'stella weights import' (backbone.bin), a run folder (checkpoints/LATEST) or a checkpoint folder");
    }

    /// <summary>The model preset a weights folder records (weights.json), or null.</summary>
    public static string? RecordedModel(string dir)
    {
        var info = Path.Combine(dir, InfoName);
        return File.Exists(info) ? JsonSerializer.Deserialize<WeightsInfo>(File.ReadAllText(info))?.Model : null;
    }

    /// <summary>
    /// Loads the weights of <paramref name="path"/> (see <see cref="Resolve"/>) into <paramref name="backbone"/> and <paramref name="avm"/>;
    /// returns the folder read and the number of tensors loaded. A model of other sizes is refused with one line.
    /// </summary>
    public static (string Dir, int Tensors) Load(string path, Backbone backbone, Avm avm)
    {
        var dir = Resolve(path);
        if (RecordedModel(dir) is { } model && !string.Equals(model, backbone.Config.Name, StringComparison.OrdinalIgnoreCase))
        {
            throw new UserInputException($"{dir}: weights of the '{model}' model, this run builds '{backbone.Config.Name}'");
        }

        var loaded = new Dictionary<string, bool>();
        var avmLoaded = new Dictionary<string, bool>();
        try
        {
            // Not strict: checkpoints written before the inter-modality position embeddings existed lack them (they stay zero).
            backbone.load(Path.Combine(dir, "backbone.bin"), strict: false, loadedParameters: loaded);
            avm.load(Path.Combine(dir, "avm.bin"), strict: false, loadedParameters: avmLoaded);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or EndOfStreamException or IOException)
        {
            throw new UserInputException($"{dir}: weights that do not fit the '{backbone.Config.Name}' model ({e.Message.Split('\n')[0]})", e);
        }

        // Not strict means a file missing most of the model would also "load": only the inter-modality embeddings may be absent.
        var missing = loaded.Where(kv => !kv.Value && !kv.Key.EndsWith("_inter_pos", StringComparison.Ordinal)).Select(kv => kv.Key)
            .Concat(avmLoaded.Where(kv => !kv.Value).Select(kv => "avm." + kv.Key)).ToList();
        if (missing.Count > 0)
        {
            throw new UserInputException($"{dir}: weights without {missing.Count} of the '{backbone.Config.Name}' model's tensors ({string.Join(", ", missing.Take(8))}{(missing.Count > 8 ? ", ..." : string.Empty)})");
        }

        using (torch.no_grad())
        {
            backbone.InterPositionLearned = backbone.named_parameters().Where(p => p.name.EndsWith("_inter_pos", StringComparison.Ordinal)).Any(p => WeightImport.HasValues(p.parameter));
        }

        return (dir, loaded.Count(kv => kv.Value) + avmLoaded.Count(kv => kv.Value));
    }
}

/// <summary>Starts a trainer from saved weights (<c>init:</c> in a job config).</summary>
public static class InitWeights
{
    /// <summary>
    /// Loads the weights of <paramref name="path"/> (an import folder, a run folder or a checkpoint folder) into the trainer's backbone
    /// and AVM: weights only; the optimizers, the generator and the memory stay as they are (fresh).
    /// </summary>
    public static void Apply(ModelTrainer trainer, string path, Action<string> log)
    {
        var (dir, tensors) = WeightsFolder.Load(path, trainer.Backbone, trainer.Avm);
        log($"init: {tensors} tensors from {dir} (weights only: optimizers and memory start fresh){(trainer.Backbone.InterPositionLearned ? "; inter-modality position embeddings train" : string.Empty)}");
    }
}
