using System.Text.Json;
using Stella.Core.Manifests;
using Stella.Media.Decode;
using Stella.Media.Synth;
using Stella.Model.Config;

namespace Stella.Pipeline.Sources;

/// <summary>Media files listed by a manifest, decoded by ffmpeg as they are needed.</summary>
public sealed class ClipFileSource : IClipSource
{
    private readonly ClipFeaturizer _featurizer;
    private readonly int _seed;
    private readonly Augment.AugmentOptions? _augment;
    private readonly Lazy<string> _evalSettings;

    private ClipFileSource(ClipManifest manifest, ClipFeaturizer featurizer, int seed, IReadOnlyDictionary<string, SynthGroundTruth> truth, Augment.AugmentOptions? augment)
    {
        // Asked for only when a cache is used (it runs ffmpeg -version once a process).
        _evalSettings = new(() =>
            $"{EvalFeatureCache.Version}|{Shards.ShardMetadata.GeometryOf(featurizer.Model)}|{Shards.ShardMetadata.CurrentNormalization}|{featurizer.Decode.Options}|{FrameWindow.Eval}|{Stella.Media.Ffmpeg.FfmpegTools.Version}");
        Manifest = manifest;
        _featurizer = featurizer;
        _seed = seed;
        _augment = augment is { Any: true } ? augment : null;
        GroundTruth = truth;
    }

    /// <inheritdoc />
    public ClipManifest Manifest { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, SynthGroundTruth> GroundTruth { get; }

    /// <summary>
    /// Opens the config's manifest, rendering the built-in benchmark first when the config has a <c>synth</c> section and the
    /// manifest is missing.
    /// </summary>
    public static async Task<ClipFileSource> OpenAsync(StreamTrainConfig config, Action<string> log, CancellationToken ct)
    {
        var manifestPath = config.Resolve(config.Manifest);
        if (!File.Exists(manifestPath) && config.Synth is { } options)
        {
            log($"{manifestPath} is missing: rendering the built-in benchmark (one time)");
            var summary = await new SynthGenerator(options).GenerateAsync(Path.GetDirectoryName(manifestPath)!, null, ct).ConfigureAwait(false);
            log($"rendered {summary.Clips} clips in {summary.Elapsed.TotalSeconds:0.0} s");
        }
        else if (config.Synth is { } wanted)
        {
            RequireRenderedWith(wanted, Path.Combine(Path.GetDirectoryName(manifestPath)!, "synth.json"));
        }

        var manifest = StellaManifestReader.Read(manifestPath);
        config.ValidateSource();
        var official = config.Source == StreamTrainConfig.OfficialSource;
        if (manifest.Clips.FirstOrDefault(c => (c.AudioPath is null) == official) is { } wrong)
        {
            throw new ManifestException(manifestPath, wrong.Row, official
                ? $"source: {StreamTrainConfig.OfficialSource} needs a manifest with an 'audio' column (make it with 'stella manifest stella-official')"
                : $"the manifest has an 'audio' column (the authors' frames-and-audio layout): set 'source: {StreamTrainConfig.OfficialSource}' and 'data_home:' in the config");
        }

        var root = new DataRoot(official ? config.Resolve(config.DataHome!) : config.DataRoot is null ? Path.GetDirectoryName(manifestPath)! : config.Resolve(config.DataRoot));
        return new ClipFileSource(manifest, new ClipFeaturizer(ModelConfig.Preset(config.Model), root, manifestPath), config.Seed, ReadGroundTruth(manifestPath), config.Augment);
    }

    /// <summary>The built-in benchmark's ground truth beside a manifest (<c>ground_truth.jsonl</c>), by clip id; empty when there is none.</summary>
    public static Dictionary<string, SynthGroundTruth> ReadGroundTruth(string manifestPath)
    {
        var truthPath = Path.Combine(Path.GetDirectoryName(manifestPath)!, "ground_truth.jsonl");
        return File.Exists(truthPath) ? File.ReadLines(truthPath).Select(l => JsonSerializer.Deserialize<SynthGroundTruth>(l)!).ToDictionary(t => t.ClipId) : [];
    }

    /// <summary>
    /// Refuses a benchmark folder rendered with other options than the config's <c>synth:</c> section (e.g. by an older
    /// version with fewer retrieval clips): training on it would silently measure another benchmark. Nothing is deleted.
    /// </summary>
    public static void RequireRenderedWith(SynthOptions wanted, string synthJson)
    {
        if (!File.Exists(synthJson))
        {
            return;
        }

        var rendered = JsonSerializer.Deserialize<SynthOptions>(File.ReadAllText(synthJson)) ?? new SynthOptions();
        var differ = typeof(SynthOptions).GetProperties()
            // Settings that are no part of the dataset (the render parallelism) are always ignored; ClassOffset is left out of
            // synth.json only at its default, so it is compared.
            .Where(p => p.GetCustomAttributes(typeof(System.Text.Json.Serialization.JsonIgnoreAttribute), false) is not [System.Text.Json.Serialization.JsonIgnoreAttribute { Condition: System.Text.Json.Serialization.JsonIgnoreCondition.Always }]
                && !Equals(p.GetValue(rendered), p.GetValue(wanted)))
            .Select(p => $"{p.Name} {p.GetValue(rendered)} (config: {p.GetValue(wanted)})")
            .ToList();
        if (differ.Count > 0)
        {
            throw new Stella.Core.UserInputException(
                $"{Path.GetDirectoryName(synthJson)} was rendered with other benchmark options than the config's 'synth:' section: " +
                $"{string.Join(", ", differ)}; delete that folder to render it again, or point 'manifest:' elsewhere");
        }
    }

    /// <summary>
    /// The seed of a training clip's frame window: a function of the run seed, the task and the clip's position in the task, so
    /// parallel decoding, read-ahead, resuming and pre-processed shards all give the windows of one uninterrupted run.
    /// </summary>
    public static int WindowSeed(int seed, int task, int index) => unchecked((seed * 1_000_003) + (task * 7_919) + index) & 0x7FFFFFFF;

    /// <summary>A training clip's inputs in its first epoch (with augmentation on, with the material of every epoch).</summary>
    public Task<ClipOutcome> TrainAsync(ClipRecord clip, int task, int index, CancellationToken ct) =>
        _featurizer.RunAsync(clip, TrainWindow(task, index), ct, Augmentation(new Graph.ClipRequest(clip, index, task, index)));

    /// <inheritdoc />
    public Augment.ClipAugmentation? Augmentation(Graph.ClipRequest request) =>
        _augment is null ? null : Augment.ClipAugmentation.For(_augment, _seed, request.WindowTask, request.Epoch, request.Clip.ClipId);

    /// <inheritdoc />
    public ClipFeaturizer Featurizer => _featurizer;

    /// <inheritdoc />
    public FrameWindow TrainWindow(int task, int index) => FrameWindow.Train(new Random(WindowSeed(_seed, task, index)));

    /// <inheritdoc />
    public Task<ClipOutcome> EvalAsync(ClipRecord clip, CancellationToken ct) => _featurizer.RunAsync(clip, FrameWindow.Eval, ct);

    /// <summary>
    /// A clip's inputs as <see cref="TrainAsync"/> (training window, first epoch) or <see cref="EvalAsync"/> (<paramref name="index"/>
    /// -1) give them, with the fbank and frames they were cut from (<see cref="ClipOutcome.Material"/>; with a random window, every
    /// frame of the clip): what compact shards store.
    /// </summary>
    public Task<ClipOutcome> MaterialAsync(ClipRecord clip, int task, int index, CancellationToken ct) =>
        index < 0
            ? _featurizer.RunAsync(clip, FrameWindow.Eval, ct, keepMaterial: true)
            : _featurizer.RunAsync(clip, TrainWindow(task, index), ct, Augmentation(new Graph.ClipRequest(clip, index, task, index)), keepMaterial: true);

    /// <inheritdoc />
    /// <remarks>The file by full path, size and modification time (a rendered or copied clip is a new entry); null when it cannot be read.</remarks>
    public string? EvalCacheKey(ClipRecord clip)
    {
        string path;
        try
        {
            path = Path.GetFullPath(_featurizer.Decode.PathOf(clip));
        }
        catch (ManifestException)
        {
            return null; // a bad row: decoded (and quarantined) as without a cache
        }

        var file = new FileInfo(path);
        return file.Exists
            ? StreamTrainConfig.ShortHash(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{_evalSettings.Value}|{path}|{file.Length}|{file.LastWriteTimeUtc.Ticks}"), 32)
            : null;
    }
}
