using System.Collections.Concurrent;
using System.Text.Json;
using Parquet;
using Parquet.Serialization;
using Stella.Core.Manifests;
using Stella.Core.Tasks;
using Stella.Media.Features;
using Stella.Media.Synth;
using Stella.Model.Config;
using Stella.Pipeline.Sources;

namespace Stella.Pipeline.Shards;

/// <summary>
/// Patch shards as a clip source: the stream's listing comes from the files' footers (no patches read), and a file's rows are read
/// when the stream first needs one of them; a few files are kept, so memory stays bounded by the read-ahead, not the dataset.
/// Compact shards (version 2) hold the 8-bit frames and the fbank, cut into patches here by the graph's own patch code; version 1
/// shards hold the patches. Shards of an unknown schema version or another patch geometry, or from a different preprocess config,
/// are refused by name; a damaged file is reported with its path, skipped and counted (its clips are then missing from the stream).
/// </summary>
public sealed class PatchShardSource : IClipSource
{
    private const int FilesKept = 6;
    private const string MemoryKey = "<memory>";
    private readonly Dictionary<(string ClipId, string Window), string> _fileOf;
    private readonly Dictionary<string, ShardMetadata> _metaOf;
    private readonly Dictionary<string, SynthGroundTruth> _truth;
    private readonly ModelConfig _model;
    private readonly ConcurrentDictionary<string, Lazy<Task<Dictionary<(string, string), StoredRow>>>> _loaded = new();
    private readonly ConcurrentQueue<string> _order = new();

    private PatchShardSource(ClipManifest manifest, Dictionary<(string, string), string> fileOf, Dictionary<string, ShardMetadata> metaOf, ModelConfig model, Dictionary<string, SynthGroundTruth> truth, int files, List<string> damaged, int windowSeed)
    {
        Manifest = manifest;
        _fileOf = fileOf;
        _metaOf = metaOf;
        _model = model;
        _truth = truth;
        Files = files;
        Damaged = damaged;
        WindowSeed = windowSeed;
    }

    /// <inheritdoc />
    public ClipManifest Manifest { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, SynthGroundTruth> GroundTruth => _truth;

    /// <summary>Shard files in use.</summary>
    public int Files { get; }

    /// <summary>Damaged files that were skipped, with the reason.</summary>
    public IReadOnlyList<string> Damaged { get; }

    /// <summary>The seed the training windows were drawn with at preprocess time.</summary>
    public int WindowSeed { get; }

    /// <summary>The augmentation the shards' training rows were made for (their metadata's text), null when none.</summary>
    public string? PreparedAugment => _metaOf.Values.Select(m => m.Augment).FirstOrDefault(a => a is not null);

    private Augment.AugmentOptions? _augment;
    private int _augmentSeed;

    /// <summary>
    /// Trains with <paramref name="options"/> drawn per (<paramref name="seed"/>, task, epoch, clip), as from the clips: each epoch's
    /// input is made anew from the media the rows keep. Shards made for another augmentation (or none) are refused by name.
    /// </summary>
    public void UseAugmentation(Augment.AugmentOptions options, int seed)
    {
        if (PreparedAugment != options.ToString())
        {
            throw new Stella.Core.UserInputException($"augment ({options}) needs shards preprocessed with it (they keep the media each epoch is made from); these were preprocessed with {(PreparedAugment is null ? "no augmentation" : $"augment ({PreparedAugment})")}: run 'stella preprocess' with this config");
        }

        (_augment, _augmentSeed) = (options, seed);
    }

    /// <inheritdoc />
    public Augment.ClipAugmentation? Augmentation(Graph.ClipRequest request) =>
        _augment is null ? null : Stella.Pipeline.Augment.ClipAugmentation.For(_augment, _augmentSeed, request.WindowTask, request.Epoch, request.Clip.ClipId);

    /// <summary>
    /// Lists the shards in <paramref name="directories"/> (patch shards, or a run's rehearsal memory: a folder with the memory's
    /// index.json) and checks them against <paramref name="model"/>'s input geometry; from <paramref name="evalOnly"/> folders only
    /// evaluation-window rows are used (train from a memory, evaluate on the retrieval set of a preprocessed folder).
    /// </summary>
    public static async Task<PatchShardSource> OpenAsync(IReadOnlyList<string> directories, ModelConfig model, Action<string> log, CancellationToken ct, IReadOnlyList<string>? evalOnly = null)
    {
        var memoryRows = new Dictionary<(string, string), PatchRow>();
        var paths = new List<(string Path, bool EvalOnly)>();
        foreach (var (directory, onlyEval) in directories.Select(d => (d, false)).Concat((evalOnly ?? []).Select(d => (d, true))))
        {
            if (!Directory.Exists(directory))
            {
                throw new Stella.Core.UserInputException($"shard folder not found: {directory}");
            }

            if (File.Exists(Path.Combine(directory, Stella.Continual.Memory.ParquetMemoryStore.IndexFileName)) && !onlyEval)
            {
                await MemoryShards.AddRowsAsync(directory, model, memoryRows, log, ct).ConfigureAwait(false);
                continue;
            }

            paths.AddRange(Directory.EnumerateFiles(directory, "*.parquet").Order(StringComparer.Ordinal).Select(p => (p, onlyEval)));
        }

        var directoryName = string.Join("+", directories.Concat(evalOnly ?? []));
        var fileOf = new Dictionary<(string, string), string>();
        var metaOf = new Dictionary<string, ShardMetadata>(StringComparer.Ordinal);
        var clips = new Dictionary<string, ClipRecord>(StringComparer.Ordinal);
        var damaged = new List<string>();
        IReadOnlyList<TaskDefinition>? tasks = null;
        string? hash = null;
        var seed = 0;
        var truth = new Dictionary<string, SynthGroundTruth>(StringComparer.Ordinal);
        var used = 0;
        foreach (var row in memoryRows.Values)
        {
            fileOf[(row.ClipId, row.Window)] = MemoryKey;
            clips.TryAdd(row.ClipId, new ClipRecord(row.ClipId, string.Empty, row.Label, row.Task, ClipSplit.Train, 0, row.Row));
        }

        foreach (var (path, onlyEval) in paths)
        {
            ShardMetadata? meta;
            try
            {
                await using var stream = File.OpenRead(path);
                await using var reader = await ParquetReader.CreateAsync(stream, cancellationToken: ct).ConfigureAwait(false);
                meta = ShardMetadata.From(reader.CustomMetadata);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                damaged.Add($"{path}: {e.Message}");
                log($"damaged shard skipped: {path}: {e.Message}");
                continue;
            }

            if (meta is null)
            {
                throw new Stella.Core.UserInputException($"{path} is not a patch shard (no stella.patch_shard metadata); write shards with 'stella preprocess'");
            }

            if (meta.Version is not (ShardMetadata.SchemaVersion or ShardMetadata.PatchesVersion))
            {
                throw new Stella.Core.UserInputException($"{path}: shard schema version {meta.Version}, this build reads versions {ShardMetadata.PatchesVersion} and {ShardMetadata.SchemaVersion}; preprocess again");
            }

            if (meta.Version == ShardMetadata.SchemaVersion && meta.Fbank is not (ShardMetadata.Float32 or ShardMetadata.Float16))
            {
                throw new Stella.Core.UserInputException($"{path}: compact shard with fbank storage '{meta.Fbank}', this build reads '{ShardMetadata.Float32}' and '{ShardMetadata.Float16}'; preprocess again");
            }

            var geometry = ShardMetadata.GeometryOf(model);
            if (meta.Geometry != geometry)
            {
                throw new Stella.Core.UserInputException($"{path}: patch geometry '{meta.Geometry}' does not match the {model.Name} model's '{geometry}'; preprocess again with that model, or train the model the shards were made for");
            }

            if (meta.Normalization != ShardMetadata.CurrentNormalization)
            {
                throw new Stella.Core.UserInputException($"{path}: normalization '{meta.Normalization}' differs from this build's '{ShardMetadata.CurrentNormalization}'; preprocess again");
            }

            if (metaOf.Count > 0 && metaOf.Values.First().Augment != meta.Augment)
            {
                throw new Stella.Core.UserInputException($"{path}: preprocessed for augment '{meta.Augment ?? "none"}', other files for '{metaOf.Values.First().Augment ?? "none"}'; keep one preprocess run per folder");
            }

            if (hash is not null && meta.SourceHash != hash)
            {
                throw new Stella.Core.UserInputException($"{path}: written from other preprocess settings (source hash {meta.SourceHash}, other files {hash}); keep one preprocess run per folder");
            }

            hash = meta.SourceHash;
            metaOf[path] = meta;
            tasks ??= meta.Tasks;
            seed = meta.WindowSeed;
            used++;
            foreach (var row in meta.Rows.Where(r => !onlyEval || r.Window == "eval"))
            {
                fileOf[(row.ClipId, row.Window)] = path;
                if (!clips.ContainsKey(row.ClipId))
                {
                    clips[row.ClipId] = new ClipRecord(row.ClipId, string.Empty, row.Label, row.Task, Enum.Parse<ClipSplit>(row.Split), 0, row.Row);
                }
            }
        }

        if (used == 0 && memoryRows.Count == 0)
        {
            throw new Stella.Core.UserInputException($"no readable patch shards in {directoryName} ({damaged.Count} damaged)");
        }

        if (tasks is null)
        {
            var count = memoryRows.Values.Max(r => r.Task) + 1;
            tasks = Enumerable.Range(0, count).Select(t => new TaskDefinition($"task{t}", memoryRows.Values.Where(r => r.Task == t).Select(r => r.Label).Distinct().ToList())).ToList();
        }

        // The manifest's own order, so the job builds the same task lists, batches and evaluation order as from the clips.
        var ordered = clips.Values.OrderBy(c => c.Row).ToList();
        var source = new PatchShardSource(new ClipManifest(directoryName, new TaskMap("shards", tasks, directoryName), ordered), fileOf, metaOf, model, truth, used, damaged, seed);
        source._loaded[MemoryKey] = new Lazy<Task<Dictionary<(string, string), StoredRow>>>(Task.FromResult(memoryRows.ToDictionary(p => p.Key, p => StoredRow.Of(p.Value))));
        await source.LoadTruthAsync(ct).ConfigureAwait(false);
        log($"patch shards: {used} files{(memoryRows.Count > 0 ? $" + {memoryRows.Count} memory items" : string.Empty)}, {clips.Count} clips, {tasks.Count} tasks{(damaged.Count > 0 ? $", {damaged.Count} damaged files skipped" : string.Empty)}");
        return source;
    }

    /// <inheritdoc />
    public Task<ClipOutcome> TrainAsync(ClipRecord clip, int task, int index, CancellationToken ct) => ReadAsync(clip, "train", ct);

    /// <inheritdoc />
    public Task<ClipOutcome> EvalAsync(ClipRecord clip, CancellationToken ct) => ReadAsync(clip, "eval", ct);

    private async Task<ClipOutcome> ReadAsync(ClipRecord clip, string window, CancellationToken ct)
    {
        if (!_fileOf.TryGetValue((clip.ClipId, window), out var path))
        {
            return new ClipOutcome(clip, null, null, 0, "MissingInShards", $"no {window}-window row for {clip.ClipId} in the shards");
        }

        try
        {
            var rows = await Load(path, ct).ConfigureAwait(false);
            var row = rows[(clip.ClipId, window)];
            if (window == "train" && row.Compact is { } media && _metaOf[path].Augment is not null)
            {
                // An augmented training row: the media, cut into this epoch's patches by the graph's patch stage with its draws.
                var fbank = row.CheckedFbank(_model, anyFrameCount: true);
                return new ClipOutcome(clip, null, null, row.VideoStart, null, null)
                {
                    Material = new ClipMaterial(fbank, new Stella.Media.Decode.DecodedClip(clip.ClipId, media.FrameCount / (double)new Stella.Media.Decode.DecodeOptions().SampleFps, null, media.Frames, media.FrameCount, media.FrameSize, row.VideoStart, media.Whole)),
                };
            }

            var (audio, video) = row.Inputs(_model);
            return new ClipOutcome(clip, audio, video, row.VideoStart, null, null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new ClipOutcome(clip, null, null, 0, "DamagedShard", $"{path}: {e.Message}");
        }
    }

    private Task<Dictionary<(string, string), StoredRow>> Load(string path, CancellationToken ct)
    {
        var entry = _loaded.GetOrAdd(path, p =>
        {
            _order.Enqueue(p);
            while (_order.Count > FilesKept && _order.TryDequeue(out var old))
            {
                _loaded.TryRemove(old, out _);
            }

            return new Lazy<Task<Dictionary<(string, string), StoredRow>>>(async () =>
            {
                var meta = _metaOf[p];
                if (meta.Version == ShardMetadata.PatchesVersion)
                {
                    return (await ParquetSerializer.DeserializeAsync<PatchRow>(p, cancellationToken: ct).ConfigureAwait(false)).Data.ToDictionary(r => (r.ClipId, r.Window), StoredRow.Of);
                }

                var half = meta.Fbank == ShardMetadata.Float16;
                return (await ParquetSerializer.DeserializeAsync<CompactPatchRow>(p, cancellationToken: ct).ConfigureAwait(false)).Data.ToDictionary(r => (r.ClipId, r.Window), r => StoredRow.Of(r, half));
            });
        });
        return entry.Value;
    }

    private async Task LoadTruthAsync(CancellationToken ct)
    {
        foreach (var path in _fileOf.Where(k => k.Key.Window == "eval").Select(k => k.Value).Distinct())
        {
            foreach (var row in (await Load(path, ct).ConfigureAwait(false)).Values.Where(r => r.GroundTruth.Length > 0))
            {
                _truth[row.ClipId] = JsonSerializer.Deserialize<SynthGroundTruth>(row.GroundTruth)!;
            }
        }
    }

    /// <summary>A row as read from a shard file: patches (version 1, memory items) or the media they are cut from (compact).</summary>
    private sealed record StoredRow(string ClipId, double VideoStart, string GroundTruth, PatchRow? Patches, CompactPatchRow? Compact, bool HalfFbank)
    {
        public static StoredRow Of(PatchRow row) => new(row.ClipId, row.VideoStart, row.GroundTruth, row, null, false);

        public static StoredRow Of(CompactPatchRow row, bool half) => new(row.ClipId, row.VideoStart, row.GroundTruth, null, row, half);

        /// <summary>The model's inputs; a compact row whose sizes do not fit <paramref name="model"/> is refused by name.</summary>
        public (float[] Audio, float[] Video) Inputs(ModelConfig model)
        {
            if (Patches is { } p)
            {
                return (PatchRow.Floats(p.AudioPatches), PatchRow.Floats(p.VideoPatches));
            }

            var c = Compact!;
            var fbank = CheckedFbank(model, anyFrameCount: false);
            return Graph.PatchStage.Patches(model, fbank, FrameFeatures.Normalize(c.Frames, c.FrameCount, c.FrameSize), c.FrameCount, c.FrameSize);
        }

        /// <summary>
        /// A compact row's fbank, its frames and fbank checked against <paramref name="model"/>'s sizes (any frame count for an
        /// augmented row, which may hold the whole clip); a row that does not fit is refused by name.
        /// </summary>
        public float[] CheckedFbank(ModelConfig model, bool anyFrameCount)
        {
            var c = Compact!;
            var fbank = CompactPatchRow.FbankValues(c.Fbank, HalfFbank);
            if ((!anyFrameCount && c.FrameCount != model.Frames) || c.FrameSize != model.FrameSize || c.Frames.Length != c.FrameCount * c.FrameSize * c.FrameSize * 3 || fbank.Length != model.AudioFrames * model.MelBins)
            {
                var frames = anyFrameCount ? string.Empty : $"{model.Frames} ";
                throw new InvalidDataException($"row {c.ClipId} ({c.Window}) holds {c.FrameCount} frames of {c.FrameSize} px in {c.Frames.Length} bytes and {fbank.Length} fbank values; the {model.Name} model takes {frames}frames of {model.FrameSize} px and {model.AudioFrames}x{model.MelBins} fbank values");
            }

            return fbank;
        }
    }
}
