using System.Globalization;
using System.Text.Json;
using System.Threading.Tasks.Dataflow;
using Parquet.Serialization;
using Stella.Core.Manifests;
using Stella.Model.Config;
using Stella.Pipeline.Sources;

namespace Stella.Pipeline.Shards;

/// <summary>
/// <c>stella preprocess</c>: the decode/features/patch part of the stream-train graph, written as Parquet patch shards instead of
/// being trained on. Every training clip gets the frame window stream-train would give it for the config's seed, every retrieval
/// clip and linear-probe clip the evaluation window. With <c>--shard i --num-shards n</c> a job takes every n-th item of the
/// stream, so independent processes split the work and their files merge by listing the folder. By default the shards are
/// compact (schema version 2: the decoded 8-bit frames and the fbank, cut into patches when read); <see cref="Patches"/> writes
/// version 1 (float32 patches: about 2.5x the bytes, no patch cutting at read time).
/// </summary>
public sealed class PreprocessJob(StreamTrainConfig config, string outDir, int shard, int shards, Action<string> log)
{
    /// <summary>Rows per Parquet file (a file is the unit the reader loads). Default 64.</summary>
    public int RowsPerFile { get; init; } = 64;

    /// <summary>Write version 1 patch shards (float32 patches) instead of compact ones.</summary>
    public bool Patches { get; init; }

    /// <summary>Store the fbank of compact shards as float16 (half its bytes, not lossless) instead of float32.</summary>
    public bool HalfFbank { get; init; }

    /// <summary>
    /// The column compression: Zstd at its "optimal" level. Measured on 62 rows of the built-in benchmark at the base geometry
    /// (compact, float32 fbank; 2026-12-01): Snappy (Parquet.Net's default) 38.5 MB, Zstd optimal 29.3 MB in 11.2 s, Zstd
    /// smallest 27.1 MB but 34 s, Brotli fastest 30.7 MB. Any Parquet reader (pyarrow, DuckDB) decodes Zstd.
    /// </summary>
    private static readonly Parquet.ParquetOptions Options = new() { CompressionMethod = Parquet.CompressionMethod.Zstd, CompressionLevel = System.IO.Compression.CompressionLevel.Optimal };

    /// <summary>Writes this job's shard files; returns how many rows were written.</summary>
    public async Task<int> RunAsync(CancellationToken ct)
    {
        if (shards < 1 || shard < 0 || shard >= shards)
        {
            throw new Stella.Core.UserInputException($"--shard must be in [0, --num-shards) and --num-shards at least 1 (got {shard} of {shards})");
        }

        if (config.Augment is { Any: true } && Patches)
        {
            throw new Stella.Core.UserInputException($"augment ({config.Augment}) needs compact shards (their training rows keep the media each epoch is made from); drop --format patches");
        }

        var source = await ClipFileSource.OpenAsync(config, log, ct).ConfigureAwait(false);
        var model = ModelConfig.Preset(config.Model);
        var manifest = source.Manifest;
        var work = Work(manifest).Where((_, j) => j % shards == shard).ToList();
        Directory.CreateDirectory(outDir);
        var prefix = string.Create(CultureInfo.InvariantCulture, $"shard-{shard:D4}-of-{shards:D4}");
        foreach (var stale in Directory.EnumerateFiles(outDir, prefix + "-*"))
        {
            File.Delete(stale);
        }

        log($"preprocess: {work.Count} items (shard {shard} of {shards}) -> {outDir}");
        var quarantine = new Quarantine(Path.Combine(outDir, $"{prefix}-quarantine.csv"));
        var decode = new TransformBlock<WorkItem, (WorkItem Item, ClipOutcome Outcome)>(
            async item => (item, await FeaturizeAsync(source, item, ct).ConfigureAwait(false)),
            new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = Math.Max(1, config.Workers), BoundedCapacity = Math.Max(1, config.Workers) * 4, EnsureOrdered = true, CancellationToken = ct });
        var buffer = new List<(WorkItem Item, ClipOutcome Outcome)>();
        var files = 0;
        var written = 0;
        var writer = new ActionBlock<(WorkItem Item, ClipOutcome Outcome)>(
            async pair =>
            {
                if (!pair.Outcome.Ok)
                {
                    quarantine.Add(pair.Outcome);
                    log($"quarantined {pair.Item.Clip.ClipId}: {pair.Outcome.Failure}: {pair.Outcome.Detail}");
                    return;
                }

                // A file holds one group (eval rows, or one task's training rows), so the reader loads files in stream order.
                if (buffer.Count > 0 && (buffer.Count >= RowsPerFile || buffer[0].Item.Group != pair.Item.Group))
                {
                    written += await FlushAsync(buffer, prefix, files++, source, model, manifest, ct).ConfigureAwait(false);
                }

                buffer.Add(pair);
            },
            new ExecutionDataflowBlockOptions { BoundedCapacity = 8, CancellationToken = ct });
        decode.LinkTo(writer, new DataflowLinkOptions { PropagateCompletion = true });
        foreach (var item in work)
        {
            await decode.SendAsync(item, ct).ConfigureAwait(false);
        }

        decode.Complete();
        await writer.Completion.ConfigureAwait(false);
        if (buffer.Count > 0)
        {
            written += await FlushAsync(buffer, prefix, files++, source, model, manifest, ct).ConfigureAwait(false);
        }

        log($"wrote {written} rows in {files} files ({quarantine.Count} clips quarantined)");
        return written;
    }

    /// <summary>A work item's inputs: patches for version 1, the media they are cut from for compact shards (patches dropped).</summary>
    private async Task<ClipOutcome> FeaturizeAsync(ClipFileSource source, WorkItem item, CancellationToken ct)
    {
        if (Patches)
        {
            return item.Window == "train" ? await source.TrainAsync(item.Clip, item.Clip.Task, item.Index, ct).ConfigureAwait(false) : await source.EvalAsync(item.Clip, ct).ConfigureAwait(false);
        }

        var outcome = await source.MaterialAsync(item.Clip, item.Clip.Task, item.Window == "train" ? item.Index : -1, ct).ConfigureAwait(false);
        return outcome.Ok ? outcome with { AudioPatches = null, VideoPatches = null } : outcome;
    }

    /// <summary>The hash of the settings that decide the shards' contents (manifest, model geometry, window seed, probe clips, and the augmentation when one is on).</summary>
    public static string SourceHash(StreamTrainConfig config) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
            string.Create(CultureInfo.InvariantCulture, $"{config.Manifest}|{ShardMetadata.GeometryOf(ModelConfig.Preset(config.Model))}|{config.Seed}|{config.ProbePerClass}")
            + (config.Augment is { Any: true } ? $"|augment={config.Augment}" : string.Empty))))[..16];

    /// <summary>
    /// Every item of the stream in order: the evaluation windows (retrieval clips, then the linear-probe clips: the first
    /// <c>probe_per_class</c> training clips of each class), then each task's training clips with their positions.
    /// </summary>
    internal List<WorkItem> Work(ClipManifest manifest)
    {
        var items = manifest.Split(ClipSplit.Retrieval).Select(c => new WorkItem(c, "eval", -1, -1)).ToList();
        var probe = config.ProbePerClass <= 0 ? [] : manifest.Split(ClipSplit.Train).GroupBy(c => c.Label).SelectMany(g => g.Take(config.ProbePerClass));
        items.AddRange(probe.Where(c => items.All(i => i.Clip.ClipId != c.ClipId)).Select(c => new WorkItem(c, "eval", -1, -1)));
        for (var t = 0; t < manifest.Tasks.Tasks.Count; t++)
        {
            items.AddRange(manifest.Split(ClipSplit.Train).Where(c => c.Task == t).Select((c, i) => new WorkItem(c, "train", i, t)));
        }

        return items;
    }

    private async Task<int> FlushAsync(List<(WorkItem Item, ClipOutcome Outcome)> buffer, string prefix, int file, IClipSource source, ModelConfig model, ClipManifest manifest, CancellationToken ct)
    {
        var group = buffer[0].Item.Group < 0 ? "eval" : string.Create(CultureInfo.InvariantCulture, $"t{buffer[0].Item.Group:D3}");
        var path = Path.Combine(outDir, string.Create(CultureInfo.InvariantCulture, $"{prefix}-{file:D5}-{group}.parquet"));
        // The clip and window columns every row format shares.
        T Described<T>(T row, (WorkItem Item, ClipOutcome Outcome) p)
            where T : ShardRow
        {
            (row.ClipId, row.Task, row.Label, row.Split, row.Window) = (p.Item.Clip.ClipId, p.Item.Clip.Task, p.Item.Clip.Label, p.Item.Clip.Split.ToString(), p.Item.Window);
            (row.Index, row.Row, row.VideoStart) = (p.Item.Index, p.Item.Clip.Row, p.Outcome.VideoStart);
            row.GroundTruth = source.GroundTruth.TryGetValue(p.Item.Clip.ClipId, out var truth) ? JsonSerializer.Serialize(truth) : string.Empty;
            return row;
        }

        var entries = buffer.Select(p => new ShardEntry(p.Item.Clip.ClipId, p.Item.Clip.Task, p.Item.Clip.Label, p.Item.Clip.Split.ToString(), p.Item.Window, p.Item.Index, p.Item.Clip.Row)).ToList();
        var metadata = new ShardMetadata(Patches ? ShardMetadata.PatchesVersion : ShardMetadata.SchemaVersion, ShardMetadata.GeometryOf(model), ShardMetadata.CurrentNormalization, SourceHash(config), config.Seed,
            manifest.Tasks.Tasks, entries, Patches ? null : HalfFbank ? ShardMetadata.Float16 : ShardMetadata.Float32, config.Augment is { Any: true } ? config.Augment.ToString() : null).ToKeyValue();
        var temp = path + ".tmp";
        if (Patches)
        {
            var rows = buffer.Select(p => Described(new PatchRow { AudioPatches = PatchRow.Bytes(p.Outcome.AudioPatches!), VideoPatches = PatchRow.Bytes(p.Outcome.VideoPatches!) }, p)).ToList();
            await ParquetSerializer.SerializeAsync(rows, temp, Options, metadata, ct).ConfigureAwait(false);
        }
        else
        {
            var rows = buffer.Select(p => Described(new CompactPatchRow
            {
                FrameCount = p.Outcome.Material!.Decoded.FrameCount, FrameSize = p.Outcome.Material.Decoded.FrameSize, Frames = p.Outcome.Material.Decoded.Frames!, Whole = p.Outcome.Material.Decoded.Whole,
                Fbank = CompactPatchRow.FbankBytes(p.Outcome.Material.Spectrogram, HalfFbank),
            }, p)).ToList();
            await ParquetSerializer.SerializeAsync(rows, temp, Options, metadata, ct).ConfigureAwait(false);
        }

        File.Move(temp, path, overwrite: true);
        var count = buffer.Count;
        buffer.Clear();
        return count;
    }

    /// <summary>One clip and window to write; <paramref name="Group"/> is the task for training rows, -1 for evaluation rows.</summary>
    internal sealed record WorkItem(ClipRecord Clip, string Window, int Index, int Group);
}
