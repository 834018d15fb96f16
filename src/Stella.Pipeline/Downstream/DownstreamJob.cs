using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Stella.Core;
using Stella.Core.Manifests;
using Stella.Model;
using Stella.Model.Config;
using Stella.Model.Runtime;
using Stella.Pipeline.Sources;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Pipeline.Downstream;

/// <summary>
/// <c>stella downstream</c>: judges the representation a finished run learned (its latest checkpoint) on tasks beside retrieval, the
/// thesis' Table 2.5 analogues on the built-in benchmark. <c>classify</c>: an MLP on frozen pooled embeddings (audio and video,
/// L2-normalized, concatenated) over every task's classes, trained on the training clips (their training windows) and scored on
/// the retrieval clips (the evaluation window). <c>segment</c>: a per-token decoder on frozen video-token features predicting the sounding object's
/// tokens (the ground-truth box in the frames where it sounds), trained on the training clips, mIoU on the retrieval clips. Writes
/// <c>downstream.json</c> into the run folder.
/// </summary>
public sealed class DownstreamJob(StreamTrainConfig config, string runDir, IReadOnlyList<string> tasks, Action<string> log)
{
    /// <summary>The tasks this job knows.</summary>
    public static readonly IReadOnlyList<string> Names = ["classify", "segment", "retrieval"];

    /// <summary>
    /// retrieval: the manifest of a held-out benchmark whose classes no task of the run used (<c>stella synth --class-offset</c>):
    /// the run's model is fine-tuned on its training clips (i.i.d., every clip of every held-out task shuffled each epoch) and
    /// scored by zero-shot retrieval on its retrieval clips (the MSR-VTT analogue, thesis Table 2.5a).
    /// </summary>
    public string? HeldOut { get; init; }

    /// <summary>retrieval: passes over the held-out training clips. Default 5.</summary>
    public int RetrievalEpochs { get; init; } = 5;

    /// <summary>Where the clips come from (default: the config's media files); compare passes its patch shards.</summary>
    public IClipSource? Source { get; init; }

    /// <summary>Runs the tasks and writes <c>downstream.json</c>; returns the results.</summary>
    public async Task<DownstreamResults> RunAsync(CancellationToken ct)
    {
        foreach (var task in tasks.Where(t => !Names.Contains(t)))
        {
            throw new UserInputException($"unknown downstream task '{task}': choose from {string.Join(", ", Names)}");
        }

        if (!Directory.Exists(Path.Combine(runDir, "checkpoints")))
        {
            throw new UserInputException($"{runDir} is not a run folder with checkpoints (train it with stream-train, replay or compare first)");
        }

        if (RetrievalEpochs < 1)
        {
            throw new UserInputException($"--retrieval-epochs {RetrievalEpochs}: at least 1");
        }

        // A finished run only (its results.json): a stopped one would be judged at mid-run weights. Its own method and seed (compare
        // sets them per run): the probes' initializations follow the seed.
        var trained = Path.Combine(runDir, "results.json");
        if (!File.Exists(trained))
        {
            throw new UserInputException($"{runDir} is not finished (no results.json): finish it with --resume first");
        }

        var run = RunResults.Read(trained);
        (config.Method, config.Seed) = (run.Method, run.Seed);
        if (run.ConfigHash != config.Hash())
        {
            log($"note: {runDir} was trained with config hash {run.ConfigHash}, this config gives {config.Hash()} for {run.Method} seed {run.Seed}: the clips are this config's");
        }

        // The probes read the clips without augmentation: a frozen representation is judged on the clips as they are.
        config.Augment = new();
        var source = Source ?? await ClipFileSource.OpenAsync(config, log, ct).ConfigureAwait(false);
        var manifest = source.Manifest;
        var results = tasks.Contains("retrieval") ? await RetrievalAsync(manifest, ct).ConfigureAwait(false) : new DownstreamResults { Run = Path.GetFullPath(runDir) };
        if (!tasks.Contains("classify") && !tasks.Contains("segment"))
        {
            return await WriteAsync(results, ct).ConfigureAwait(false);
        }

        // Patch shards carry the ground truth of their evaluation rows only: the training clips' comes from the benchmark's file.
        var truth = new Dictionary<string, Stella.Media.Synth.SynthGroundTruth>(source.GroundTruth);
        if (tasks.Contains("segment") && manifest.Clips.Any(c => c.Split is ClipSplit.Train && !truth.ContainsKey(c.ClipId)))
        {
            foreach (var (id, t) in ClipFileSource.ReadGroundTruth(config.Resolve(config.Manifest)))
            {
                truth.TryAdd(id, t);
            }
        }

        if (tasks.Contains("segment") && manifest.Clips.Where(c => c.Split is ClipSplit.Train or ClipSplit.Retrieval).FirstOrDefault(c => !truth.ContainsKey(c.ClipId)) is { } missing)
        {
            throw new UserInputException($"segment needs the sounding object's boxes of every clip (the built-in benchmark's ground truth); {manifest.Source} has none for {missing.ClipId}");
        }

        var model = ModelConfig.Preset(config.Model);
        using var trainer = new ModelTrainer(model, new StellaOptions { Seed = (ulong)config.Seed }, TorchRuntime.ResolveDevice(config.Device));
        Stella.Model.Weights.InitWeights.Apply(trainer, runDir, log);
        // The probes fit on the training clips in their training windows (what the run trained on; patch shards hold those) and
        // are scored on the retrieval clips in the evaluation window.
        var training = manifest.Split(ClipSplit.Train).ToList();
        var index = training.GroupBy(c => c.Task).SelectMany(g => g.Select((c, i) => (c.ClipId, i))).ToDictionary(x => x.ClipId, x => x.i);
        var train = await FeaturizeAsync(training, (clip, token) => source.TrainAsync(clip, clip.Task, index[clip.ClipId], token), ct).ConfigureAwait(false);
        var test = await FeaturizeAsync(manifest.Split(ClipSplit.Retrieval).ToList(), source.EvalAsync, ct).ConfigureAwait(false);
        log($"downstream: {train.Count} training and {test.Count} retrieval clips featurized");
        if (train.Count == 0 || test.Count == 0)
        {
            throw new UserInputException($"downstream needs training and retrieval clips: {train.Count} training and {test.Count} retrieval clips of {manifest.Source} could be read");
        }

        var (trainFeatures, testFeatures) = (Embed(trainer, train), Embed(trainer, test));

        if (tasks.Contains("classify"))
        {
            var classes = train.Concat(test).Select(c => c.Clip.Label).Distinct().Order(StringComparer.Ordinal).Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i);
            var predicted = MlpClassifier.FitPredict(trainFeatures.Pooled, train.Select(c => classes[c.Clip.Label]).ToArray(), testFeatures.Pooled, classes.Count, seed: (ulong)config.Seed);
            var right = test.Select((c, i) => predicted[i] == classes[c.Clip.Label]).ToList();
            results = results with
            {
                ClassifyAccuracy = Math.Round(100.0 * right.Count(r => r) / right.Count, 2),
                ClassifyPerTask = manifest.Tasks.Tasks.Select((_, t) => test.Select((c, i) => (c, i)).Where(x => x.c.Clip.Task == t).ToList())
                    .Select(rows => rows.Count == 0 ? (double?)null : Math.Round(100.0 * rows.Count(x => right[x.i]) / rows.Count, 2)).ToList(),
                Classes = classes.Count,
            };
            log(string.Create(CultureInfo.InvariantCulture, $"classify: MLP on frozen embeddings, {classes.Count} classes: {results.ClassifyAccuracy:0.0}% of {test.Count} retrieval clips"));
        }

        if (tasks.Contains("segment"))
        {
            var (miou, _) = SegmentationProbe.FitScore(trainFeatures.Tokens, Masks(train, truth, model), testFeatures.Tokens, Masks(test, truth, model), seed: (ulong)config.Seed);
            results = results with { SegmentMeanIoU = Math.Round(miou, 2) };
            log(string.Create(CultureInfo.InvariantCulture, $"segment: token decoder on frozen video features: mIoU {miou:0.0}% over {test.Count} retrieval clips"));
        }

        return await WriteAsync(results, ct).ConfigureAwait(false);
    }

    // Adds this call's tasks to what downstream.json already holds (another call's tasks stay).
    private async Task<DownstreamResults> WriteAsync(DownstreamResults results, CancellationToken ct)
    {
        var path = Path.Combine(runDir, "downstream.json");
        if (File.Exists(path) && JsonSerializer.Deserialize<DownstreamResults>(await File.ReadAllTextAsync(path, ct).ConfigureAwait(false)) is { } earlier)
        {
            results = results with
            {
                ClassifyAccuracy = results.ClassifyAccuracy ?? earlier.ClassifyAccuracy, ClassifyPerTask = results.ClassifyPerTask ?? earlier.ClassifyPerTask,
                Classes = results.Classes ?? earlier.Classes, SegmentMeanIoU = results.SegmentMeanIoU ?? earlier.SegmentMeanIoU,
                RetrievalA2V = results.RetrievalA2V ?? earlier.RetrievalA2V, RetrievalV2A = results.RetrievalV2A ?? earlier.RetrievalV2A,
                HeldOut = results.RetrievalA2V is null ? earlier.HeldOut : results.HeldOut,
                RetrievalEpochs = results.RetrievalA2V is null ? earlier.RetrievalEpochs : results.RetrievalEpochs,
            };
        }

        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(results, Json), ct).ConfigureAwait(false);
        log($"wrote {path}");
        return results;
    }

    // Fine-tunes a copy of the run's model on the held-out benchmark (a run of its own in RUN/downstream-retrieval, resumable) and
    // reads its retrieval after the last pass.
    private async Task<DownstreamResults> RetrievalAsync(ClipManifest runManifest, CancellationToken ct)
    {
        if (HeldOut is null)
        {
            throw new UserInputException("retrieval needs a held-out benchmark (--heldout MANIFEST): render one with classes no task used, e.g. 'stella synth --out data/heldout --class-offset 12 --tasks 1 --classes-per-task 6 --base-classes 0' (one task: one gallery of all its clips)");
        }

        var heldOut = Path.GetFullPath(HeldOut);
        var shared = Stella.Core.Manifests.StellaManifestReader.Read(heldOut).Clips.Select(c => c.Label).Intersect(runManifest.Clips.Select(c => c.Label)).Order(StringComparer.Ordinal).ToList();
        if (shared.Count > 0)
        {
            throw new UserInputException($"{heldOut} shares classes with the run's benchmark ({string.Join(", ", shared.Take(3))}{(shared.Count > 3 ? ", ..." : string.Empty)}): a held-out benchmark must have classes neither a task nor the warm-up used (stella synth --class-offset past the tasks' classes, --base-classes 0)");
        }

        var tune = StreamTrainConfig.Load(config.ConfigPath ?? throw new InvalidOperationException("retrieval needs a config loaded from a file"));
        tune.Name = $"{config.Name}-downstream-retrieval";
        tune.Manifest = heldOut;
        tune.DataRoot = null;
        tune.Synth = null;
        tune.Source = StreamTrainConfig.ClipsSource;
        tune.DataHome = null;
        tune.Augment = new();
        tune.Method = "multitask";
        tune.Seed = config.Seed;
        tune.Init = Path.GetFullPath(runDir);
        tune.Warmup = null;
        tune.TaskOrder = null;
        tune.Subset = null;
        tune.MemoryItems = null;
        tune.ProbePerClass = 0;
        tune.EpochsPerTask = RetrievalEpochs;
        var dir = Path.Combine(runDir, "downstream-retrieval");
        var done = Path.Combine(dir, "results.json");
        if (File.Exists(done) && RunResults.Read(done).ConfigHash != tune.Hash())
        {
            throw new UserInputException($"{dir} was fine-tuned with other settings (another held-out set or number of passes): delete it to fine-tune again");
        }

        if (!File.Exists(done))
        {
            log($"retrieval: fine-tuning the run's model on {heldOut} ({RetrievalEpochs} passes, i.i.d.) -> {dir}");
            await new StreamTrainJob(tune, dir, line => log($"  retrieval: {line}")).RunAsync(File.Exists(Path.Combine(dir, "checkpoints", "LATEST")), ct).ConfigureAwait(false);
        }

        var tuned = RunResults.Read(done);
        var results = new DownstreamResults
        {
            Run = Path.GetFullPath(runDir), HeldOut = heldOut, RetrievalEpochs = RetrievalEpochs,
            RetrievalA2V = Evaluator.Ks.Select(k => Math.Round(tuned.A2V[$"R@{k}"].A, 2)).ToList(),
            RetrievalV2A = Evaluator.Ks.Select(k => Math.Round(tuned.V2A[$"R@{k}"].A, 2)).ToList(),
        };
        log(string.Create(CultureInfo.InvariantCulture,
            $"retrieval after fine-tuning on the held-out benchmark: a->v R@1/5/10 {string.Join("/", results.RetrievalA2V.Select(v => v.ToString("0.0", CultureInfo.InvariantCulture)))}, v->a {string.Join("/", results.RetrievalV2A.Select(v => v.ToString("0.0", CultureInfo.InvariantCulture)))}"));
        return results;
    }

    private async Task<List<ClipOutcome>> FeaturizeAsync(List<ClipRecord> clips, Func<ClipRecord, CancellationToken, Task<ClipOutcome>> featurize, CancellationToken ct)
    {
        var outcomes = new ClipOutcome[clips.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, clips.Count), new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, config.Workers), CancellationToken = ct },
            async (i, token) => outcomes[i] = await featurize(clips[i], token).ConfigureAwait(false)).ConfigureAwait(false);
        var failed = outcomes.Where(o => !o.Ok).ToList();
        if (failed.Count > 0)
        {
            log($"downstream: {failed.Count} clips could not be read and are left out (first: {failed[0].Clip.ClipId}: {failed[0].Failure} {failed[0].Detail})");
        }

        return outcomes.Where(o => o.Ok).ToList();
    }

    // Pooled embeddings (audio and video, each L2-normalized, concatenated) and the video tokens' joint features per clip.
    private static (float[][] Pooled, float[][][] Tokens) Embed(ModelTrainer trainer, List<ClipOutcome> clips)
    {
        var pooled = new List<float[]>();
        var tokens = new List<float[][]>();
        using var noGrad = no_grad();
        foreach (var chunk in clips.Chunk(16))
        {
            using var scope = NewDisposeScope();
            var (a, v) = ClipTensors.Stack(chunk, trainer.Config, trainer.Device);
            var encoding = trainer.Backbone.Encode(a, v);
            var pa = nn.functional.normalize(encoding.PooledAudio, 2, -1).cpu();
            var pv = nn.functional.normalize(encoding.PooledVideo, 2, -1).cpu();
            var jv = encoding.JointVideo.cpu().contiguous();
            var (n, d) = (jv.shape[1], jv.shape[2]);
            var all = jv.data<float>().ToArray();
            for (var i = 0; i < chunk.Length; i++)
            {
                pooled.Add([.. pa[i].data<float>(), .. pv[i].data<float>()]);
                tokens.Add([.. Enumerable.Range(0, (int)n).Select(t => all.AsSpan((int)(((i * n) + t) * d), (int)d).ToArray())]);
            }
        }

        return (pooled.ToArray(), tokens.ToArray());
    }

    // A token is inside when its patch centre lies in the sounding object's box in a frame where the object sounds.
    private static bool[][] Masks(List<ClipOutcome> clips, IReadOnlyDictionary<string, Stella.Media.Synth.SynthGroundTruth> truths, ModelConfig model)
    {
        var grid = model.FrameSize / model.Patch;
        var cell = model.FrameSize / (double)grid;
        return clips.Select(c =>
        {
            var truth = truths[c.Clip.ClipId];
            var frames = model.VideoTokens / (grid * grid);
            var boxes = Evaluator.SourceBoxes(truth, c.VideoStart, frames, model.FrameSize);
            var sounding = Evaluator.SoundingFrames(truth, c.VideoStart, frames);
            return Enumerable.Range(0, model.VideoTokens).Select(t =>
            {
                var (f, p) = (t / (grid * grid), t % (grid * grid));
                var (cx, cy) = (((p % grid) + 0.5) * cell, ((p / grid) + 0.5) * cell);
                var box = boxes[f];
                return sounding[f] && cx >= box[0] && cx < box[2] && cy >= box[1] && cy < box[3];
            }).ToArray();
        }).ToArray();
    }

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}

/// <summary>What <c>stella downstream</c> measured for one run (<c>downstream.json</c>).</summary>
public sealed record DownstreamResults
{
    /// <summary>The run folder.</summary>
    [JsonPropertyName("run")] public required string Run { get; init; }

    /// <summary>classify: accuracy (%) of the MLP on the retrieval clips.</summary>
    [JsonPropertyName("classify_accuracy")] public double? ClassifyAccuracy { get; init; }

    /// <summary>classify: accuracy (%) per task.</summary>
    [JsonPropertyName("classify_per_task")] public IReadOnlyList<double?>? ClassifyPerTask { get; init; }

    /// <summary>classify: number of classes.</summary>
    [JsonPropertyName("classes")] public int? Classes { get; init; }

    /// <summary>retrieval: the held-out benchmark's manifest.</summary>
    [JsonPropertyName("held_out")] public string? HeldOut { get; init; }

    /// <summary>retrieval: fine-tuning passes.</summary>
    [JsonPropertyName("retrieval_epochs")] public int? RetrievalEpochs { get; init; }

    /// <summary>
    /// retrieval: a->v R@1, R@5, R@10 (%) on the held-out benchmark after fine-tuning: the mean over its tasks of each task's
    /// retrieval (render it with one task for one gallery of all its clips).
    /// </summary>
    [JsonPropertyName("retrieval_a2v")] public IReadOnlyList<double>? RetrievalA2V { get; init; }

    /// <summary>retrieval: v->a R@1, R@5, R@10 (%) on the held-out benchmark after fine-tuning.</summary>
    [JsonPropertyName("retrieval_v2a")] public IReadOnlyList<double>? RetrievalV2A { get; init; }

    /// <summary>segment: mIoU (%) of the token decoder on the retrieval clips.</summary>
    [JsonPropertyName("segment_miou")] public double? SegmentMeanIoU { get; init; }
}
