using System.Globalization;
using Stella.Continual.Checkpoints;
using Stella.Core;
using Stella.Core.Arrays;
using Stella.Core.Manifests;
using Stella.Coreset;
using Stella.Media.Decode;
using Stella.Model;
using Stella.Model.Config;
using Stella.Model.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Pipeline;

/// <summary>
/// <c>stella extract</c>: COINCIDE's activations of our own audio-video model for every training clip of a manifest (manifest
/// order, evaluation window): per chosen layer, the attention output's video tokens and audio tokens (in place of the thesis'
/// visual and text tokens) are mean-pooled, passed through tanh and L2-normalized, and the [video || audio] pairs of all M layers
/// are concatenated and divided by sqrt(2M), so each row has unit norm. Writes PATH (float32 [N, 2 M D]), PATH.clips.txt and
/// PATH.labels.txt (the clip id and label of each row; a clip that cannot be decoded gets a row of zeros and is listed in
/// PATH.quarantine.csv). When PATH does not end in .npy it is a folder of Parquet feature shards: shard <c>shard</c> of
/// <c>numShards</c> holds one contiguous part of the rows, so machines (or processes) can each extract one part and
/// <c>stella coreset --features PATH</c> reads the folder whole. Beside the output, <see cref="ExtractMetadata"/> records the
/// layers, so coreset's --layers defaults to them.
/// </summary>
public sealed class ExtractJob(string run, string manifestPath, string outPath, string model, IReadOnlyList<int>? layers, Action<string> log, int shard = 0, int numShards = 1)
{
    private bool Sharded => !outPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase);

    /// <summary>Runs the extraction; returns the number of rows.</summary>
    public async Task<int> RunAsync(CancellationToken ct)
    {
        if (!Sharded && numShards != 1)
        {
            throw new UserInputException($"--shard/--num-shards write Parquet shards into a folder: give --out a folder, not the .npy file {outPath}");
        }

        TorchRuntime.Initialize();
        var config = ModelConfig.Preset(model);
        var latest = new CheckpointStore(Path.Combine(run, "checkpoints"), string.Empty).Latest
            ?? throw new UserInputException($"{run} holds no checkpoint (checkpoints/LATEST): train a model first");
        using var trainer = new ModelTrainer(config);
        trainer.LoadState(latest);
        var manifest = StellaManifestReader.Read(manifestPath);
        if (manifest.Clips.FirstOrDefault(c => c.AudioPath is not null) is { } official)
        {
            throw new Stella.Core.UserInputException($"{manifestPath}: row {official.Row} is in the authors' frames-and-audio layout (an 'audio' column), which 'stella extract' does not read yet (it resolves clips under the manifest's folder, not a data_home); extract from a manifest of media files (MP4)");
        }

        var all = manifest.Split(ClipSplit.Train).ToList();
        var (first, count) = FeatureShards.Range(all.Count, shard, numShards);
        var clips = all.GetRange(first, count);
        var total = config.ModalityDepth + config.JointDepth;
        var chosen = layers is { Count: > 0 } ? layers : Enumerable.Range(0, total).ToList();
        if (chosen.Any(l => l < 0 || l >= total))
        {
            throw new UserInputException($"--layers must be in [0, {total - 1}] for the {model} model ({config.ModalityDepth} modality + {config.JointDepth} joint blocks)");
        }

        var featurizer = new ClipFeaturizer(config, new DataRoot(Path.GetDirectoryName(Path.GetFullPath(manifestPath))!), manifestPath);
        var width = 2 * chosen.Count * config.Dim;
        var data = new float[(long)clips.Count * width];
        if (Sharded)
        {
            Directory.CreateDirectory(outPath);
        }

        var quarantine = new Quarantine(Sharded ? Path.Combine(outPath, Path.ChangeExtension(FeatureShards.FileName(shard, numShards), ".quarantine.csv")) : outPath + ".quarantine.csv");
        log($"extract: {clips.Count} training clips (rows {first}..{first + count - 1} of {all.Count}), layers {string.Join(",", chosen)} of {total}, {width} dims -> {outPath}");
        var outcomes = new ClipOutcome[clips.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, clips.Count), new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct },
            async (i, token) => outcomes[i] = await featurizer.RunAsync(clips[i], FrameWindow.Eval, token).ConfigureAwait(false)).ConfigureAwait(false);
        using var scale = ((float)(1 / Math.Sqrt(2.0 * chosen.Count))).ToScalar();
        using (no_grad())
        {
            foreach (var chunk in Enumerable.Range(0, clips.Count).Where(i => outcomes[i].Ok).Chunk(16))
            {
                using var scope = NewDisposeScope();
                var (a, v) = ClipTensors.Stack(chunk.Select(i => outcomes[i]).ToList(), config);
                var activations = trainer.Backbone.AttentionActivations(a, v);
                var parts = chosen.SelectMany(l => new[] { activations[l].Video, activations[l].Audio })
                    .Select(t => nn.functional.normalize(t.mean([1]).tanh(), p: 2, dim: 1)).ToList();
                var rows = cat(parts, 1).mul(scale).contiguous().data<float>().ToArray();
                for (var r = 0; r < chunk.Length; r++)
                {
                    Array.Copy(rows, r * width, data, (long)chunk[r] * width, width);
                }
            }
        }

        foreach (var bad in outcomes.Where(o => !o.Ok))
        {
            quarantine.Add(bad);
        }

        if (Sharded)
        {
            var rows = clips.Select((c, i) => new FeatureRow { Row = first + i, Clip = c.ClipId, Label = c.Label, Features = data.AsSpan(i * width, width).ToArray() }).ToList();
            await FeatureShards.WriteAsync(outPath, shard, numShards, all.Count, rows, ct).ConfigureAwait(false);
        }
        else
        {
            Npy.Write(outPath, data, clips.Count, width);
            await File.WriteAllLinesAsync(outPath + ".clips.txt", clips.Select(c => c.ClipId), ct).ConfigureAwait(false);
            await File.WriteAllLinesAsync(outPath + ".labels.txt", clips.Select(c => c.Label), ct).ConfigureAwait(false);
        }

        new ExtractMetadata(model, [.. chosen], config.Dim, width).Write(outPath);
        log(string.Create(CultureInfo.InvariantCulture, $"wrote {clips.Count} rows ({outcomes.Count(o => !o.Ok)} quarantined as zero rows)"));
        return clips.Count;
    }
}
