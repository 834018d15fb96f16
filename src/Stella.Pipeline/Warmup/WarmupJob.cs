using System.Globalization;
using System.Text.Json;
using Stella.Model;
using Stella.Model.Config;
using Stella.Model.Runtime;
using Stella.Model.Weights;
using Stella.Pipeline.Sources;
using Stella.Pipeline.Telemetry;

namespace Stella.Pipeline.Warmup;

/// <summary>
/// <c>stella pretrain</c> and the <c>warmup:</c> section of stream-train: the authors' warm-up as up to two stream-train runs
/// on the warm-up (<c>base</c>) rows, so both have the graph's checkpoints, resume, quarantine and progress: (1) the backbone,
/// Multitask learner (one i.i.d. stream reshuffled every epoch, MAE + contrastive), starting from the config's <c>init</c>;
/// (2) when <c>avm_epochs</c> &gt; 0, the AVM alone (backbone frozen) from (1)'s weights. Each phase lies in a folder named by
/// the hash of what makes its weights, so a finished phase is reused by any later run with the same settings, an interrupted
/// one continues from its checkpoint, and a changed setting makes a new folder. The result is a weights folder for <c>init:</c>.
/// </summary>
public sealed class WarmupJob(StreamTrainConfig config, string root, Action<string> log)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The progress both phases report into (a display can follow it). Default: a fresh one.</summary>
    public StreamProgress Progress { get; init; } = new();

    /// <summary>Where the clips come from. Default: the config's manifest (<see cref="ClipFileSource"/>).</summary>
    public IClipSource? Source { get; init; }

    /// <summary>Where the evaluation clips come from (the continual run's source, e.g. its patch shards). Default: <see cref="Source"/>.</summary>
    public IClipSource? EvalSource { get; init; }

    /// <summary>The evaluation-clip cache folder of the phases (the run's, when a run starts the warm-up); null: each phase's default.</summary>
    public string? EvalCache { get; init; }

    private WarmupConfig Settings => config.Warmup ?? new WarmupConfig();

    /// <summary>The folder of phase (1), the backbone warm-up, under the cache root.</summary>
    public string BackboneDir => _backboneDir ??= Path.Combine(root, $"backbone-{Hash(BackboneKey())}");

    // Computed once: the key reads the manifest and lists the init folder, and the folder is asked for several times a run.
    private string? _backboneDir;

    /// <summary>The folder of phase (2), the AVM warm-up (inside phase (1)'s folder); null when <c>avm_epochs</c> is 0.</summary>
    public string? AvmDir => Settings.AvmEpochs > 0 ? Path.Combine(BackboneDir, $"avm-{Hash(AvmKey())}") : null;

    /// <summary>The weights folder the warm-up ends with (what <c>init:</c> takes).</summary>
    public string WeightsDir => Path.Combine(AvmDir ?? BackboneDir, "weights");

    /// <summary>The warm-up cache folder of <paramref name="config"/> for a run written to <paramref name="runDir"/>.</summary>
    public static string CacheRoot(StreamTrainConfig config, string runDir) =>
        config.Warmup?.Cache is { } cache ? config.Resolve(cache) : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(runDir))!, "warmup");

    /// <summary>A warm-up of these settings began here (its first phase was entered, by this process or another): it can be continued.</summary>
    public bool Started => File.Exists(BackboneDir + ".lock") || Directory.Exists(BackboneDir);

    /// <summary>Runs what is not done yet (phase by phase) and returns the weights folder.</summary>
    public async Task<string> RunAsync(CancellationToken ct)
    {
        Settings.Validate();
        if (File.Exists(Path.Combine(WeightsDir, WeightsFolder.InfoName)))
        {
            log($"warm-up: reusing {WeightsDir} (same settings)");
            return WeightsDir;
        }

        TorchRuntime.Initialize();
        var source = new WarmupSource(Source ?? await ClipFileSource.OpenAsync(config, log, ct).ConfigureAwait(false), EvalSource);
        var clips = source.Manifest.Split(Stella.Core.Manifests.ClipSplit.Train).Count();
        await PhaseAsync("backbone", BackboneDir, Backbone(), source, clips, ct).ConfigureAwait(false);
        var last = BackboneDir;
        if (AvmDir is { } avmDir)
        {
            await PhaseAsync("AVM", avmDir, Avm(), source, clips, ct).ConfigureAwait(false);
            last = avmDir;
        }

        await using (await LockAsync(WeightsDir, ct).ConfigureAwait(false))
        {
            if (!File.Exists(Path.Combine(WeightsDir, WeightsFolder.InfoName)))
            {
                WriteWeights(last);
            }
        }

        log($"warm-up: weights in {WeightsDir}");
        return WeightsDir;
    }

    /// <summary>Phase (1)'s stream-train config: Multitask on the warm-up rows, the warm-up's epochs, rate and batch.</summary>
    internal StreamTrainConfig Backbone() => Phase("multitask", Settings.Epochs, config.Init);

    /// <summary>Phase (2)'s: the AVM alone, from phase (1)'s run folder.</summary>
    internal StreamTrainConfig Avm() => Phase("avm-only", Settings.AvmEpochs, BackboneDir);

    private StreamTrainConfig Phase(string method, int epochs, string? init)
    {
        var phase = StreamTrainConfig.Load(config.ConfigPath ?? throw new InvalidOperationException("a warm-up needs a config loaded from a file"));
        phase.Manifest = config.Manifest;
        phase.DataRoot = config.DataRoot;
        phase.Synth = config.Synth;
        phase.Model = config.Model;
        phase.Device = config.Device;
        phase.Seed = config.Seed;
        phase.Method = method;
        phase.EpochsPerTask = epochs;
        phase.LearningRate = Settings.LearningRate ?? config.LearningRate;
        phase.BatchSize = Settings.BatchSize ?? config.BatchSize;
        phase.ContrastiveWeight = config.ContrastiveWeight;
        phase.Init = init is null ? null : config.Resolve(init);
        phase.Subset = null;
        phase.Augment = config.Augment;
        phase.Warmup = null;
        // The warm-up trains on the base rows, which belong to no task: the continual run's task order is not the warm-up's.
        phase.TaskOrder = null;
        // The warm-up classes are no task's: a probe fitted on them would say nothing about the tasks.
        phase.ProbePerClass = 0;
        // No memory in either phase: fixed, so editing the continual run's memory settings never orphans a warm-up checkpoint.
        phase.MemoryMib = 64;
        phase.MemoryItems = null;
        phase.Workers = config.Workers;
        phase.PrefetchClips = config.PrefetchClips;
        phase.CheckpointEvery = config.CheckpointEvery;
        phase.MaxQuarantineShare = config.MaxQuarantineShare;
        return phase;
    }

    private async Task PhaseAsync(string name, string dir, StreamTrainConfig phase, IClipSource source, int clips, CancellationToken ct)
    {
        var results = Path.Combine(dir, "results.json");
        if (File.Exists(results))
        {
            log($"warm-up ({name}): done earlier in {dir}, kept");
            return;
        }

        // One process at a time per phase folder (runs and compare processes side by side share the cache): the others wait.
        await using var held = await LockAsync(dir, ct).ConfigureAwait(false);
        if (File.Exists(results))
        {
            log($"warm-up ({name}): finished by another process in {dir}, kept");
            return;
        }

        var resume = File.Exists(Path.Combine(dir, "checkpoints", "LATEST"));
        log(string.Create(CultureInfo.InvariantCulture,
            $"warm-up ({name}): {(resume ? "resuming" : "training")} on {clips} warm-up clips x {phase.EpochsPerTask} epochs, i.i.d., lr {phase.LearningRate:G3}, batch {phase.BatchSize} -> {dir}"));
        Progress.SetPhase($"warm-up ({name})");
        await new StreamTrainJob(phase, dir, line => log($"  warm-up ({name}): {line}"))
        {
            Source = source, Progress = Progress, AfterStep = AfterStep, EvalCache = EvalCache,
            ResumeHint = "run the same command again, without --resume: the warm-up continues from this checkpoint",
        }.RunAsync(resume, ct).ConfigureAwait(false);
        // Unwind the finished phase's frames (they hold its evaluator and clips) before the next phase builds its own (CompareJob).
        await Task.Yield();
        File.WriteAllText(Path.Combine(dir, "warmup.json"), JsonSerializer.Serialize(
            new { phase = name, method = phase.Method, epochs = phase.EpochsPerTask, learning_rate = phase.LearningRate, batch_size = phase.BatchSize, clips, init = phase.Init, seed = phase.Seed, model = phase.Model },
            Json));
    }

    /// <summary>Test hook: called after every warm-up step with the phase's step count.</summary>
    public Action<long>? AfterStep { get; init; }

    // An exclusive lock file beside the phase folder; waits (polling, cancellable) while another process holds it. The OS drops the
    // lock when its holder dies, so a killed process never leaves the cache locked.
    private async Task<FileStream> LockAsync(string dir, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(dir)!);
        var path = dir + ".lock";
        var said = false;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                if (!said)
                {
                    log($"warm-up: another process is working in {dir}; waiting for it");
                    said = true;
                }

                await Task.Delay(2000, ct).ConfigureAwait(false);
            }
        }
    }

    private void WriteWeights(string runDir)
    {
        // Written beside and renamed into place, so a stop while writing never leaves a folder that looks finished.
        var partial = WeightsDir + ".partial";
        if (Directory.Exists(partial))
        {
            Directory.Delete(partial, recursive: true);
        }

        var model = ModelConfig.Preset(config.Model);
        using (var trainer = new ModelTrainer(model, new StellaOptions { Seed = (ulong)config.Seed }, TorchRuntime.ResolveDevice(config.Device)))
        {
            var (from, tensors) = WeightsFolder.Load(runDir, trainer.Backbone, trainer.Avm);
            WeightsFolder.Write(partial, trainer.Backbone, trainer.Avm, new WeightsInfo(model.Name, $"stella pretrain ({from})", "backbone.bin", "avm.bin", tensors));
        }

        if (Directory.Exists(WeightsDir))
        {
            // A folder without weights.json is a copy from an older, interrupted version of this job: never a finished one.
            Directory.Delete(WeightsDir, recursive: true);
        }

        Directory.Move(partial, WeightsDir);
    }

    /// <summary>
    /// What makes phase (1)'s weights: the data (the manifest's warm-up rows and retrieval rows as they are, the data root, the
    /// rendered benchmark's options), model, device, seed, the initial weights (their folder and its files' sizes and times) and
    /// the warm-up's training settings. Paths are resolved, so a relative and an absolute path to the same folder are one key.
    /// </summary>
    private string BackboneKey()
    {
        var synth = config.Synth is null ? "-" : JsonSerializer.Serialize(config.Synth);
        var s = Settings;
        var manifest = config.Resolve(config.Manifest);
        var official = config.Source == StreamTrainConfig.OfficialSource;
        // The warm-up and retrieval rows. A manifest of the authors' layout ends its rows with the audio file, not the split: all
        // of it counts there (a new manifest trains a new warm-up).
        var rows = !File.Exists(manifest) ? "-"
            : official ? File.ReadAllText(manifest)
            : string.Join(";", File.ReadLines(manifest).Where(l => l.EndsWith(",base", StringComparison.OrdinalIgnoreCase) || l.EndsWith(",retrieval", StringComparison.OrdinalIgnoreCase)));
        var init = config.Init is null ? "-" : config.Resolve(config.Init);
        var initFiles = config.Init is null ? "-" : InitStamp(init);
        return string.Create(CultureInfo.InvariantCulture,
            $"{manifest}|{StreamTrainConfig.ShortHash(rows, 16)}|{(config.DataRoot is null ? "-" : config.Resolve(config.DataRoot))}|{synth}|{config.Model}|{config.Device}|{config.Seed}|{init}|{initFiles}|{config.ContrastiveWeight:R}|{s.Epochs}|{s.LearningRate ?? config.LearningRate:R}|{s.BatchSize ?? config.BatchSize}")
            // The augmentations change what the warm-up sees; only when one is on, like the run's own hash.
            + (config.Augment is { Any: true } ? $"|augment={config.Augment}" : string.Empty)
            // and the authors' layout's data home, only for that source, so the keys of media-file configs stay what they were.
            + (official ? $"|source={config.Source}|{config.Resolve(config.DataHome!)}" : string.Empty);
    }

    // The weights files the initial weights resolve to, by size and time (hashing their bytes would read hundreds of MB each run).
    private static string InitStamp(string path)
    {
        try
        {
            var dir = WeightsFolder.Resolve(path);
            return string.Join(",", Directory.GetFiles(dir).Order(StringComparer.Ordinal).Select(f => new FileInfo(f)).Select(f => $"{f.Name}:{f.Length}:{f.LastWriteTimeUtc.Ticks}"));
        }
        catch (Stella.Core.UserInputException)
        {
            return "unresolved"; // the warm-up's own init then says what is wrong with the path
        }
    }

    private string AvmKey()
    {
        var s = Settings;
        return string.Create(CultureInfo.InvariantCulture, $"{s.AvmEpochs}|{s.LearningRate ?? config.LearningRate:R}|{s.BatchSize ?? config.BatchSize}")
            + (config.Augment is { Any: true } ? $"|augment={config.Augment}" : string.Empty);
    }

    private static string Hash(string key) => StreamTrainConfig.ShortHash(key, 12);
}
