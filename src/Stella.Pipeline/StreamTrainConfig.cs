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

    /// <summary>Loads a config file.</summary>
    public static StreamTrainConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"config file not found: {path}");
        }

        var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
        try
        {
            var config = deserializer.Deserialize<StreamTrainConfig>(File.ReadAllText(path)) ?? new StreamTrainConfig();
            config.Source = Path.GetFullPath(path);
            return config;
        }
        catch (YamlException e)
        {
            throw new ArgumentException($"{path}:{e.Start.Line}: {e.InnerException?.Message ?? e.Message}", e);
        }
    }

    /// <summary>The file the config came from (null for defaults).</summary>
    [YamlIgnore]
    public string? Source { get; private set; }

    /// <summary>A path of the config made absolute against the config's folder.</summary>
    public string Resolve(string path) =>
        Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(Source) ?? Environment.CurrentDirectory, path));

    /// <summary>A short hash of the settings that decide the results (not paths, workers or checkpoint cadence).</summary>
    public string Hash()
    {
        var key = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{Manifest}|{Method}|{Model}|{Seed}|{BatchSize}|{EpochsPerTask}|{LearningRate}|{ContrastiveWeight}|{MemoryMib}|{MemoryItems}|{Subset}")
            // Appended only when set, so the hashes (and checkpoints) of configs without it stay what they were.
            + (Init is null ? string.Empty : $"|init={Init}");
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)))[..16];
    }
}
