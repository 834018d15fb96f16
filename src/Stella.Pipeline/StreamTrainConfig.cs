using Stella.Core;
using Stella.Media.Synth;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Stella.Pipeline;

/// <summary>A stream-train job (<c>pipelines/*.yaml</c>). Unknown keys are errors that name the file and line.</summary>
public sealed class StreamTrainConfig
{
    /// <summary>Run name: the output goes to runs/NAME unless --out says otherwise.</summary>
    public string Name { get; set; } = "synth";

    /// <summary>Manifest (this project's format, with tasks.json beside it), relative to the config file's folder or absolute.</summary>
    public string Manifest { get; set; } = "../data/synth/manifest.csv";

    /// <summary>Folder the clip paths are relative to. Default: the manifest's folder.</summary>
    public string? DataRoot { get; set; }

    /// <summary>When set, the built-in benchmark is rendered with these options (keys as in <c>stella synth</c>) into the manifest's folder if the manifest is missing.</summary>
    public SynthOptions? Synth { get; set; }

    /// <summary>Method (learner) name. Default stella.</summary>
    public string Method { get; set; } = "stella";

    /// <summary>Model preset (tiny or base). Default tiny.</summary>
    public string Model { get; set; } = "tiny";

    /// <summary>Device: cpu (default), cuda, auto.</summary>
    public string Device { get; set; } = "cpu";

    /// <summary>Seed. Default 0.</summary>
    public int Seed { get; set; }

    /// <summary>Current clips per step (B). Default 8.</summary>
    public int BatchSize { get; set; } = 8;

    /// <summary>Passes over each task's clips. Default 1.</summary>
    public int EpochsPerTask { get; set; } = 1;

    /// <summary>Learning rate. Default 1e-4 (the thesis).</summary>
    public double LearningRate { get; set; } = 1e-4;

    /// <summary>Weight of the contrastive loss. Default 0.1 (the thesis).</summary>
    public double ContrastiveWeight { get; set; } = 0.1;

    /// <summary>Memory budget in MiB. Default 64.</summary>
    public int MemoryMib { get; set; } = 64;

    /// <summary>Memory size in items (the thesis: 2000); when set it replaces <see cref="MemoryMib"/>. Default: unset.</summary>
    public int? MemoryItems { get; set; }

    /// <summary>Checkpoint every N steps (and at the end). Default 20.</summary>
    public int CheckpointEvery { get; set; } = 20;

    /// <summary>Largest share of quarantined clips before the run stops. Default 0.1.</summary>
    public double MaxQuarantineShare { get; set; } = 0.1;

    /// <summary>Decode and feature workers. Default: the core count.</summary>
    public int Workers { get; set; } = Environment.ProcessorCount;

    /// <summary>Clips of the next task decoded ahead while the current one trains (0 turns read-ahead off). Default 64.</summary>
    public int PrefetchClips { get; set; } = 64;

    /// <summary>
    /// Memory for the features later epochs of a task reuse (<see cref="FeatureCache"/>), in MiB; clips beyond it are written to
    /// <c>epoch-cache/</c> in the run folder and read back each epoch, bitwise the same. Default 2048. Left out of the config hash:
    /// it cannot change results.
    /// </summary>
    public int EpochCacheMib { get; set; } = 2048;

    /// <summary>
    /// Where featurized evaluation clips are kept between jobs (<see cref="EvalFeatureCache"/>), relative to the config file;
    /// <c>none</c> turns the cache off. Default: <c>cache/eval</c> beside the run folder (so a run, its resumes, its warm-up and
    /// later runs under one folder share it). Left out of the config hash: it cannot change results.
    /// </summary>
    public string? EvalCache { get; set; }

    /// <summary>Training clips per class (the first ones, evaluation window) the linear probe is fitted on; 0 turns it off. Default 5.</summary>
    public int ProbePerClass { get; set; } = 5;

    /// <summary>
    /// A coreset to train on: a .npy of int64 row numbers into the manifest's training clips in manifest order (what
    /// <c>stella coreset</c> writes for features from <c>stella extract</c>). Default: all training clips.
    /// </summary>
    public string? Subset { get; set; }

    /// <summary>
    /// Initial weights: a folder from <c>stella weights import</c>, another run's folder (its latest checkpoint) or a checkpoint
    /// folder, relative to the config file's folder or absolute. Weights only: optimizers and memory start fresh. Default: unset
    /// (random initialisation from the seed).
    /// </summary>
    public string? Init { get; set; }

    /// <summary>
    /// The authors' warm-up before the continual tasks (see <see cref="Warmup.WarmupConfig"/>): the run starts from its weights
    /// (after <see cref="Init"/>, which the warm-up itself starts from). Default: unset (no warm-up).
    /// </summary>
    public Warmup.WarmupConfig? Warmup { get; set; }

    /// <summary>
    /// The authors' training augmentations (<c>augment:</c> with <c>random_window</c>, <c>multi_scale_crop</c>, <c>fbank_noise</c>,
    /// <c>time_roll</c>), each drawn per (seed, task, epoch, clip). Training clips from media files only (patch shards hold one
    /// window). Default: all off.
    /// </summary>
    public Augment.AugmentOptions Augment { get; set; } = new();

    /// <summary>
    /// The order the tasks are trained in, as the manifest's task indices (<c>task_order: [2, 0, 3, 1]</c>: a permutation of all of
    /// them); results list the tasks in this order. Default: unset, the manifest's order. <c>stella compare --task-orders K</c> sets it
    /// (thesis Sec. 2.12).
    /// </summary>
    public List<int>? TaskOrder { get; set; }

    /// <summary>Media files with both streams (MP4), the default.</summary>
    public const string ClipsSource = "clips";

    /// <summary>The STELLA authors' preprocessed layout: a folder of JPEG frames and an audio file per clip.</summary>
    public const string OfficialSource = "stella-official";

    /// <summary>
    /// What the manifest's clips are: <c>clips</c> (media files, default) or <c>stella-official</c> (the authors' layout:
    /// <c>frames/{id}/frame_{0..79}.jpg</c> and an MP3 or WAV per clip, a manifest from <c>stella manifest stella-official</c>
    /// whose paths are relative to <see cref="DataHome"/>).
    /// </summary>
    public string Source { get; set; } = ClipsSource;

    /// <summary>The folder the authors' layout lives in (their <c>data_home</c>), relative to the config file or absolute; only with <c>source: stella-official</c>.</summary>
    public string? DataHome { get; set; }

    /// <summary>Loads a config file; a missing file, bad YAML or an unknown key is a <see cref="UserInputException"/> naming the file and line.</summary>
    public static StreamTrainConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new UserInputException($"config file not found: {path}");
        }

        var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
        try
        {
            var config = deserializer.Deserialize<StreamTrainConfig>(File.ReadAllText(path)) ?? new StreamTrainConfig();
            config.ConfigPath = Path.GetFullPath(path);
            try
            {
                config.Warmup?.Validate();
                config.ValidateSource();
            }
            catch (UserInputException e)
            {
                throw new UserInputException($"{path}: {e.Message}", e);
            }

            return config;
        }
        catch (YamlException e)
        {
            var problem = UnknownKey(e.InnerException?.Message ?? e.Message) ?? (e.InnerException?.Message ?? e.Message);
            throw new UserInputException($"{path}:{e.Start.Line}: {problem}", e);
        }
    }

    /// <summary>
    /// YamlDotNet's "Property 'batch_sise' not found on type '...'" as "unknown key 'batch_sise' (did you mean 'batch_size'?);
    /// valid keys: ..." with the keys of that section; null for any other message.
    /// </summary>
    private static string? UnknownKey(string message)
    {
        var match = System.Text.RegularExpressions.Regex.Match(message, "^Property '(?<key>.+)' not found on type '(?<type>[^']+)'");
        var sections = new[]
        {
            (Type: typeof(StreamTrainConfig), Name: (string?)null), (Type: typeof(SynthOptions), Name: "synth"), (Type: typeof(Warmup.WarmupConfig), Name: "warmup"),
            (Type: typeof(Augment.AugmentOptions), Name: "augment"),
        };
        var section = sections.FirstOrDefault(s => s.Type.FullName == match.Groups["type"].Value);
        if (!match.Success || section.Type is null)
        {
            return null;
        }

        var key = match.Groups["key"].Value;
        var keys = section.Type.GetProperties()
            .Where(p => p.GetSetMethod() is not null && !Attribute.IsDefined(p, typeof(YamlIgnoreAttribute)))
            .Select(p => UnderscoredNamingConvention.Instance.Apply(p.Name))
            .ToList();
        var guess = keys.Select(k => (Key: k, Distance: Quickenshtein.Levenshtein.GetDistance(key, k))).Where(k => k.Distance <= Math.Max(2, key.Length / 3)).OrderBy(k => k.Distance).FirstOrDefault().Key;
        return $"unknown key '{key}'{(section.Name is null ? string.Empty : $" in '{section.Name}'")}{(guess is null ? string.Empty : $" (did you mean '{guess}'?)")}; valid keys: {string.Join(", ", keys)}";
    }

    /// <summary>The file the config came from (null for defaults).</summary>
    [YamlIgnore]
    public string? ConfigPath { get; private set; }

    /// <summary>A path of the config made absolute against the config's folder.</summary>
    public string Resolve(string path) =>
        Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(ConfigPath) ?? Environment.CurrentDirectory, path));

    /// <summary>Refuses a <see cref="Source"/> this build does not know, and <see cref="DataHome"/> without the authors' layout (or the reverse).</summary>
    public void ValidateSource()
    {
        switch (Source)
        {
            case ClipsSource when DataHome is not null:
                throw new UserInputException($"data_home is the data folder of 'source: {OfficialSource}'; media files use data_root (or the manifest's folder)");
            case ClipsSource:
                return;
            case OfficialSource when DataHome is null:
                throw new UserInputException($"source: {OfficialSource} needs data_home: the folder the frames and audio paths are relative to");
            case OfficialSource when DataRoot is not null:
                throw new UserInputException($"source: {OfficialSource} takes data_home, not data_root");
            case OfficialSource:
                return;
            default:
                throw new UserInputException($"source '{Source}' is not '{ClipsSource}' or '{OfficialSource}'");
        }
    }

    /// <summary>
    /// A short hash of every setting that can change the results: the data (manifest, data root, the rendered benchmark's
    /// options, subset), the learner and its training settings, the device (its kernels round differently), and the linear
    /// probe's size. Left out, because they cannot change results: the run's name, workers, read-ahead, the evaluation-clip cache, checkpoint cadence
    /// and the quarantine limit (it stops a run; it does not change one that finishes). The initial weights and the augmentations count
    /// only when set. A checkpoint or memory written under another hash is refused on resume.
    /// </summary>
    public string Hash()
    {
        // Synth as JSON: every option that makes the dataset (the render parallelism is [JsonIgnore]: it does not).
        var synth = Synth is null ? "-" : System.Text.Json.JsonSerializer.Serialize(Synth);
        var key = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{Manifest}|{DataRoot}|{synth}|{Subset}|{Method}|{Model}|{Device}|{Seed}|{BatchSize}|{EpochsPerTask}|{LearningRate:R}|{ContrastiveWeight:R}|{MemoryMib}|{MemoryItems}|{ProbePerClass}")
            // The initial weights, appended only when set, so the hashes (and checkpoints) of configs without it stay what they were.
            + (Init is null ? string.Empty : $"|init={Init}")
            // Likewise the warm-up (its cache folder is left out: where the weights lie does not change them)
            + (Warmup is null ? string.Empty : $"|warmup={Warmup.Key()}")
            // and the augmentations, only when one is on.
            + (Augment is { Any: true } ? $"|augment={Augment}" : string.Empty)
            // and the task order,
            + (TaskOrder is null ? string.Empty : $"|order={string.Join(",", TaskOrder)}")
            // and the authors' layout.
            + (Source == ClipsSource && DataHome is null ? string.Empty : $"|source={Source}|{DataHome}");
        return ShortHash(key, 16);
    }

    /// <summary>The first <paramref name="length"/> hex digits of the SHA-256 of <paramref name="key"/>.</summary>
    public static string ShortHash(string key, int length) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)))[..length];
}
