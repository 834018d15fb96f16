using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Threading.Tasks.Dataflow;
using Stella.Continual.Checkpoints;
using Stella.Continual.Learning;
using Stella.Core;
using Stella.Core.Manifests;
using Stella.Media.Decode;
using Stella.Media.Synth;
using Stella.Model;
using Stella.Model.Config;
using Stella.Model.Runtime;
using Stella.Pipeline.Graph;
using Stella.Pipeline.Sources;
using Stella.Pipeline.Telemetry;
using TorchSharp;

namespace Stella.Pipeline;

/// <summary>
/// stream-train: task-ordered clips flow through a bounded TPL Dataflow graph (parallel decode + features, batching) into a
/// single training sink; failed clips go to the quarantine block; the memory and checkpoints are written as the run goes; the
/// evaluator scores retrieval at every task end; results.json, report.md, metrics.jsonl and quarantine.csv are written under
/// the run folder. One cancellation source stops the whole graph; a cancelled run writes a checkpoint, and --resume continues.
/// </summary>
public sealed class StreamTrainJob(StreamTrainConfig config, string outDir, Action<string> log)
{
    // Named floating-point literals: an evaluation of a task none of whose retrieval clips could be decoded has NaN figures (its
    // modality gap, its probe), which the checkpoint's run state must hold (and read back) rather than fail to save.
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Called after every training step with the step count (tests use it to stop a run at a chosen point).</summary>
    public Action<long>? AfterStep { get; init; }

    /// <summary>
    /// Decode every training clip before training starts (the time is not counted as training time), so the learner trains on
    /// pre-built batches: the training-only baseline of the data-path benchmark. Same seeds, same windows, same results. The
    /// pre-built features stay in memory whatever <c>epoch_cache_mib</c> says.
    /// </summary>
    public bool PrebuildFeatures { get; init; }

    /// <summary>Where the clips come from. Default: the config's manifest, decoded with ffmpeg (<see cref="ClipFileSource"/>).</summary>
    public IClipSource? Source { get; init; }

    /// <summary>Live counters for a progress display.</summary>
    public StreamProgress Progress { get; init; } = new();

    /// <summary>Test hook: called by every stage of the graph before its work on a clip; what it throws is that stage's failure.</summary>
    public Action<string, ClipRecord>? Fault { get; init; }

    /// <summary>
    /// The evaluation-clip cache folder (a warm-up passes the run's, so that its phases and the run share one); null: the config's
    /// <c>eval_cache</c>, by default <c>cache/eval</c> beside the run folder.
    /// </summary>
    public string? EvalCache { get; init; }

    /// <summary>The evaluation-clip cache folder of a run of <paramref name="config"/> in <paramref name="outDir"/>; null when turned off.</summary>
    public static string? EvalCacheFolder(StreamTrainConfig config, string outDir) => config.EvalCache switch
    {
        null => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outDir))!, "cache", "eval"),
        var off when off.Equals("none", StringComparison.OrdinalIgnoreCase) => null,
        var folder => config.Resolve(folder),
    };

    /// <summary>Runs the job; returns the results file.</summary>
    public async Task<string> RunAsync(bool resume, CancellationToken cancellationToken)
    {
        TorchRuntime.Initialize();
        var state = new RunState();
        var checkpoints = new CheckpointStore(Path.Combine(outDir, "checkpoints"), config.Hash())
        {
            RunState = () =>
            {
                state.NotePeakRss();
                return JsonSerializer.Serialize(state, Json);
            },
        };
        if (!resume && checkpoints.Latest is not null)
        {
            throw new UserInputException($"{outDir} already holds a run: add --resume to continue it, or choose another --out");
        }

        if (resume && checkpoints.Latest is null && config.Warmup is not null
            && new Warmup.WarmupJob(config, Warmup.WarmupJob.CacheRoot(config, outDir), log).Started)
        {
            // Stopped (or killed) during its warm-up: the run has no checkpoint of its own yet, the warm-up has its own in its cache.
            log("--resume: the run stopped during its warm-up, before its first checkpoint: the warm-up continues from its own checkpoint, then the run starts");
            resume = false;
        }

        if (resume && checkpoints.Latest is null)
        {
            throw new UserInputException(Directory.Exists(outDir)
                ? $"--resume: {outDir} holds no checkpoint to resume (the run stopped before its first one): run again without --resume"
                : $"--resume: {outDir} does not exist: check --out, or run without --resume to start");
        }

        var evalCache = EvalCache ?? EvalCacheFolder(config, outDir);

        // The warm-up (when configured) runs before the first task, or is found in its cache. A resumed run loads it too (then its
        // checkpoint's weights): what the initial weights set besides values (whether inter_pos trains) must be as in the first run.
        string? warmup = null;
        if (config.Warmup is not null)
        {
            warmup = await new Warmup.WarmupJob(config, Warmup.WarmupJob.CacheRoot(config, outDir), log) { Progress = Progress, EvalSource = Source, EvalCache = evalCache }.RunAsync(cancellationToken).ConfigureAwait(false);
            // A warm-up that trained finished on another thread, and this run's set-up (learner, evaluation clips) would go on inline
            // inside its finished frames, its evaluator and clips still reachable, until the first real wait (as in CompareJob): unwind first.
            await Task.Yield();
        }

        // Peak RSS is a per-process figure: the high-water mark otherwise carries earlier work of this process (stella compare,
        // the warm-up).
        if (Stella.Core.Diagnostics.ProcessMemory.ResetPeak() is { } reason)
        {
            log($"note: peak RSS cannot be reset here ({reason}); it includes earlier work of this process");
        }

        var source = Source ?? await ClipFileSource.OpenAsync(config, log, cancellationToken).ConfigureAwait(false);
        if (source is Shards.PatchShardSource shards)
        {
            // Augmented runs need shards whose training rows keep the media of their augmentation; plain runs, plain shards.
            if (config.Augment is { Any: true })
            {
                shards.UseAugmentation(config.Augment, config.Seed);
            }
            else if (shards.PreparedAugment is { } prepared)
            {
                throw new UserInputException($"these shards were preprocessed for augment ({prepared}); the config has no augment: replay them with that augment, or preprocess without it");
            }
        }
        else if (config.Augment is { Any: true } && source.Featurizer is null)
        {
            throw new UserInputException($"augment ({config.Augment}) needs a clip source with media (clips, or compact shards preprocessed with it)");
        }

        if (config.TaskOrder is { } order)
        {
            if (config.Subset is not null)
            {
                throw new UserInputException("task_order and subset together are not supported: a subset names rows of the training clips in the manifest's order");
            }

            source = new TaskOrderSource(source, order);
        }

        var manifest = source.Manifest;
        var model = ModelConfig.Preset(config.Model);
        Directory.CreateDirectory(outDir);

        using var learner = LearnerFactory.Create(
            config.Method,
            new ModelTrainer(model, new StellaOptions { Seed = (ulong)config.Seed, LearningRate = config.LearningRate, ContrastiveWeight = config.ContrastiveWeight }, TorchRuntime.ResolveDevice(config.Device)),
            new LearnerOptions { MemoryBytes = config.MemoryMib * 1024L * 1024, MemoryItems = config.MemoryItems, Seed = (ulong)config.Seed });
        if (warmup is not null)
        {
            Stella.Model.Weights.InitWeights.Apply(learner.Trainer, warmup, log);
        }
        else if (config.Init is { } init)
        {
            Stella.Model.Weights.InitWeights.Apply(learner.Trainer, config.Resolve(init), log);
        }

        if (warmup is not null || config.Init is not null)
        {
            learner.InitialWeightsLoaded();
        }

        var position = resume ? await checkpoints.LoadAsync(learner, cancellationToken).ConfigureAwait(false) : null;
        position ??= new StreamPosition(0, 0, 0);
        if (checkpoints.LoadedRunState is { } saved)
        {
            state = JsonSerializer.Deserialize<RunState>(saved, Json)!;
        }

        log(resume
            ? $"resuming {config.Method} at task {position.Task}, clip {position.ClipOffset} ({learner.Steps} steps done)"
            : $"stream-train: {config.Method}, {model.Name} model, {manifest.Tasks.Tasks.Count} tasks, {manifest.Split(ClipSplit.Train).Count()} training clips, batch {config.BatchSize}");

        var quarantine = new Quarantine(Path.Combine(outDir, "quarantine.csv"));
        await using var trainingLog = new TrainingLog(outDir);
        var probeClips = config.ProbePerClass <= 0 ? [] : manifest.Split(ClipSplit.Train).GroupBy(c => c.Label).SelectMany(g => g.Take(config.ProbePerClass)).ToList();
        var evalFeatures = evalCache is null ? null : new EvalFeatureCache(evalCache, log);
        var evaluator = new Evaluator(await FeaturizeAllAsync(source, manifest.Split(ClipSplit.Retrieval).ToList(), quarantine, evalFeatures, cancellationToken).ConfigureAwait(false),
            manifest.Tasks.Tasks.Count, source.GroundTruth,
            probeClips.Count == 0 ? null : await FeaturizeAllAsync(source, probeClips, null, evalFeatures, cancellationToken).ConfigureAwait(false));
        var plots = Directory.CreateDirectory(Path.Combine(outDir, "plots")).FullName;
        var periodic = new PeriodicCheckpointer(checkpoints, Math.Max(1, config.CheckpointEvery));
        var training = manifest.Split(ClipSplit.Train).ToList();
        if (config.Subset is { } subset)
        {
            var keep = ReadSubset(config.Resolve(subset), training.Count);
            training = training.Where((_, i) => keep.Contains(i)).ToList();
            log($"training on the subset {subset}: {training.Count} clips");
        }

        var streams = Streams(training, manifest.Tasks.Tasks.Count, learner.NeedsJointStream);
        var perTask = manifest.Tasks.Tasks.Select((_, t) => training.Where(c => c.Task == t).ToList()).ToList();
        // The epoch cache's overflow lives in the run folder while the run does; a stopped run's files are stale (they are rewritten).
        var spill = Path.Combine(outDir, "epoch-cache");
        if (Directory.Exists(spill))
        {
            Directory.Delete(spill, recursive: true);
        }

        Directory.CreateDirectory(spill);
        var cache = new FeatureCache(
            (task, i, clip, ct) => source.TrainAsync(clip, task, i, ct),
            keep: config.EpochsPerTask > 1 || PrebuildFeatures,
            budgetBytes: config.EpochCacheMib * 1024L * 1024L,
            spillDir: spill);
        if (PrebuildFeatures)
        {
            var built = Stopwatch.StartNew();
            for (var t = 0; t < perTask.Count; t++)
            {
                await cache.PrefetchAsync(t, perTask[t], perTask[t].Count, config.Workers, cancellationToken).ConfigureAwait(false);
            }

            log($"pre-built features of {training.Count} training clips in {built.Elapsed.TotalSeconds:0.0} s");
        }

        var cursor = new StreamCursor(position);
        // Clips consumed once the clip at stream index i of the current task is: those of earlier tasks, then i + 1.
        var quarantineStage = new QuarantineStage(quarantine, cursor, config.MaxQuarantineShare, index => cursor.Position is var p ? p.SamplesSeen - p.ClipOffset + index + 1 : 0, Progress, log);
        Progress.SetPlan(streams.Count, streams.Skip(position.Task).Sum(s => (long)s.Count) - position.ClipOffset);
        Task prefetch = Task.CompletedTask;
        var lastLine = Stopwatch.StartNew();
        var segment = Stopwatch.StartNew();
        var trainSecondsBefore = state.TrainSeconds;

        async Task Committed(TrainingStep step, StreamPosition at)
        {
            state.TrainSeconds = trainSecondsBefore + segment.Elapsed.TotalSeconds;
            if (step.Failure is not null || step.Work?.Result is not { } result)
            {
                return;
            }

            state.Steps = learner.Steps;
            state.TrainClips += step.Clips.Count;
            state.StepMilliseconds += step.Timer.Elapsed.TotalMilliseconds;
            var loss = result.MaeAudio + result.MaeVideo + (config.ContrastiveWeight * result.Contrastive);
            var rate = state.TrainClips / Math.Max(1e-9, state.TrainSeconds);
            Progress.Stepped(learner.Steps, step.Clips.Count, loss);
            trainingLog.Write("train", learner.Steps, new Dictionary<string, double?>
            {
                ["task"] = step.Task, ["loss"] = loss, ["mae_audio"] = result.MaeAudio, ["mae_video"] = result.MaeVideo, ["nce"] = result.Contrastive,
                ["penalty"] = result.Penalty, ["avm"] = result.Avm, ["replayed"] = result.Replayed, ["step_ms"] = step.Timer.Elapsed.TotalMilliseconds,
                ["clips_per_s"] = rate, ["avm_accuracy"] = result.AvmAccuracy,
                ["importance_kept_audio"] = result.Selection?.ImportanceKeptAudio, ["importance_kept_video"] = result.Selection?.ImportanceKeptVideo,
                ["pruned_top_audio"] = result.Selection?.PrunedTopAudio, ["pruned_top_video"] = result.Selection?.PrunedTopVideo,
            });
            // A line every 10 steps, and at least every 30 s when steps are slow (the base preset takes seconds a step).
            if (learner.Steps % 10 == 0 || lastLine.Elapsed.TotalSeconds >= 30)
            {
                lastLine.Restart();
                var p = Progress.Snapshot();
                log(string.Create(CultureInfo.InvariantCulture,
                    $"task {step.Task} step {learner.Steps}: clip {at.ClipOffset}/{streams[step.Task].Count}, loss {loss:0.000} (mae {result.MaeAudio + result.MaeVideo:0.000}, nce {result.Contrastive:0.000}), {step.Timer.Elapsed.TotalMilliseconds:0} ms/step, {rate:0.0} clips/s, queues decode/batch/train {p.DecodeQueue}/{p.BatchQueue}/{p.TrainQueue}, ETA {(p.Eta is { } eta ? eta.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : "?")}"));
            }

            await periodic.AfterStepAsync(learner, at, CancellationToken.None).ConfigureAwait(false);
            AfterStep?.Invoke(learner.Steps);
        }

        var graph = new StreamTaskGraph
        {
            Learner = learner, Source = source, Cache = cache, Cursor = cursor, Quarantine = quarantineStage, Progress = Progress,
            Memory = new MemoryStage(learner, cursor, quarantineStage, Committed, log, Fault is null ? null : (stage, s) => { foreach (var c in s.Clips) { Fault(stage, c.Request.Clip); } }),
            BatchSize = config.BatchSize, Workers = config.Workers, Fault = Fault,
        };
        try
        {
            for (var t = position.Task; t < streams.Count; t++)
            {
                var task = t; // the read-ahead below runs later: it must not see the loop variable move on
                var next = task + 1 < streams.Count && !PrebuildFeatures && !learner.NeedsJointStream ? perTask[task + 1] : null;
                segment.Restart();
                trainSecondsBefore = state.TrainSeconds;
                await graph.RunAsync(task, streams[task], (int)cursor.Position.ClipOffset, streams[task].Count / Math.Max(1, config.EpochsPerTask),
                    next is null ? null : () => prefetch = cache.PrefetchAsync(task + 1, next, config.PrefetchClips, config.Workers, cancellationToken),
                    cancellationToken).ConfigureAwait(false);
                state.TrainSeconds = trainSecondsBefore + segment.Elapsed.TotalSeconds;
                cache.DropBefore(task + 1);

                Progress.SetPhase("evaluating");
                log($"task {task}: trained, evaluating");
                var eval = evaluator.Run(learner) with { Seen = learner.NeedsJointStream ? manifest.Tasks.Tasks.Count : task + 1 };
                var overlay = Path.Combine(plots, $"attention_after_task{task}.png");
                Reports.Plots.AttentionOverlay(overlay, evaluator.AttentionRows(2, model.FrameSize, model.Patch), model.FrameSize, model.FrameSize / model.Patch);
                trainingLog.Image("attention", overlay, task);
                LogEvaluation(trainingLog, learner.Steps, task, eval);

                // The task end is one commit: the evaluation goes into the checkpoint with the position past the task.
                state.Evaluations.Add(eval);
                await periodic.SaveAsync(learner, cursor.EndTask(streams[task].Count), CancellationToken.None).ConfigureAwait(false);
                AfterTask?.Invoke(task);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or QuarantineLimitException)
        {
            // No step runs any more (the graph returns only then): the learner is as the last completed step left it.
            await periodic.FinishAsync(learner, cursor.Position, CancellationToken.None).ConfigureAwait(false);
            log(e is QuarantineLimitException
                ? $"stopped: {e.Message}; checkpoint at step {learner.Steps} written"
                : $"stopped: checkpoint at step {learner.Steps} written; {ResumeHint}");
            throw;
        }
        finally
        {
            await prefetch.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            await cache.ClearAsync().ConfigureAwait(false);
            TryDelete(spill);
        }

        if (cache.Spilled > 0)
        {
            log($"epoch cache: {cache.Spilled} clips did not fit in epoch_cache_mib ({config.EpochCacheMib} MiB) and were read from {spill}");
        }

        Progress.SetPhase("done");
        state.NotePeakRss();
        var results = Results.Write(outDir, config, manifest, learner, state, quarantine.Count);
        log($"done: {results}");
        return results;
    }

    /// <summary>What the stop message tells the user to do to continue. Default: run again with --resume.</summary>
    public string ResumeHint { get; init; } = "run again with --resume to continue";

    /// <summary>Test hook: called after each task-end commit with the task.</summary>
    public Action<int>? AfterTask { get; init; }

    /// <summary>
    /// The stream of each task (all its epochs), or one joint stream shuffled across tasks (the Multitask upper bound). Every clip
    /// keeps the training window of its own task and position, so the joint stream and patch shards see the same windows.
    /// </summary>
    private List<List<ClipRequest>> Streams(List<ClipRecord> training, int tasks, bool joint)
    {
        var perTask = Enumerable.Range(0, tasks)
            .Select(t => training.Where(c => c.Task == t).Select((c, i) => (Clip: c, Task: t, Index: i)).ToList())
            .ToList();
        var epochs = Math.Max(1, config.EpochsPerTask);
        if (joint)
        {
            // Shuffled anew every epoch (i.i.d. training) by the run seed and the epoch over a canonical order (task, position), so
            // clips and shards give the same stream; the first epoch's order is the seed's alone.
            var canonical = perTask.SelectMany(x => x).ToList();
            return [Enumerable.Range(0, epochs)
                .SelectMany(e => { var rng = new Random(unchecked(config.Seed + (e * 1_000_003))); return canonical.OrderBy(_ => rng.Next()).Select(x => (x, Epoch: e)).ToList(); })
                .Select((y, i) => new ClipRequest(y.x.Clip, i, y.x.Task, y.x.Index, y.Epoch)).ToList()];
        }

        return perTask.Select(list => Enumerable.Range(0, epochs).SelectMany(e => list.Select(x => (x, Epoch: e))).Select((y, i) => new ClipRequest(y.x.Clip, i, y.x.Task, y.x.Index, y.Epoch)).ToList()).ToList();
    }

    private static HashSet<int> ReadSubset(string path, int count)
    {
        using var stream = File.OpenRead(path);
        var header = Stella.Core.Arrays.Npy.ReadHeader(stream, path);
        if (header.Descr != "<i8" || header.Shape.Length != 1)
        {
            throw new UserInputException($"{path}: a subset is a 1-D int64 .npy (got dtype '{header.Descr}', shape ({string.Join(", ", header.Shape)}))");
        }

        var bytes = new byte[header.Count * 8];
        stream.ReadExactly(bytes);
        var rows = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(bytes).ToArray();
        var bad = rows.FirstOrDefault(r => r < 0 || r >= count, -1);
        if (rows.Any(r => r < 0 || r >= count))
        {
            throw new UserInputException($"{path}: row {bad} is outside the manifest's {count} training clips");
        }

        return rows.Select(r => (int)r).ToHashSet();
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the next run of this folder, which clears it at its start.
        }
    }

    private void LogEvaluation(TrainingLog trainingLog, long step, int task, Evaluation eval)
    {
        var values = new Dictionary<string, double?> { ["after_task"] = task };
        for (var k = 0; k < Evaluator.Ks.Length; k++)
        {
            values[$"a2v_R@{Evaluator.Ks[k]}_seen"] = eval.SeenA2V(k);
            values[$"v2a_R@{Evaluator.Ks[k]}_seen"] = eval.SeenV2A(k);
        }

        values["modality_gap_seen"] = eval.SeenGap();
        values["localization_seen"] = eval.SeenLocalization();
        trainingLog.Write("eval", step, values);
        string Seen(Func<int, double> mean) => string.Join("/", Enumerable.Range(0, Evaluator.Ks.Length).Select(k => mean(k).ToString("0.0", CultureInfo.InvariantCulture)));
        log($"task {task} done: mean over the {eval.Seen} tasks seen, a2v R@1/5/10 {Seen(eval.SeenA2V)}, v2a R@1/5/10 {Seen(eval.SeenV2A)}");
    }

    private async Task<List<ClipOutcome>> FeaturizeAllAsync(IClipSource source, List<ClipRecord> clips, Quarantine? quarantine, EvalFeatureCache? cache, CancellationToken ct)
    {
        var cached = 0;
        var block = new TransformBlock<ClipRecord, ClipOutcome>(
            async clip =>
            {
                var key = cache is null ? null : source.EvalCacheKey(clip);
                if (key is not null && await cache!.TryReadAsync(key, clip, ct).ConfigureAwait(false) is { } kept)
                {
                    Interlocked.Increment(ref cached);
                    return kept;
                }

                var outcome = await source.EvalAsync(clip, ct).ConfigureAwait(false);
                if (key is not null)
                {
                    await cache!.WriteAsync(key, outcome, ct).ConfigureAwait(false);
                }

                return outcome;
            },
            new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = Math.Max(1, config.Workers), EnsureOrdered = true, CancellationToken = ct });
        foreach (var clip in clips)
        {
            await block.SendAsync(clip, ct).ConfigureAwait(false);
        }

        block.Complete();
        var outcomes = new List<ClipOutcome>();
        while (await block.OutputAvailableAsync(ct).ConfigureAwait(false))
        {
            var outcome = await block.ReceiveAsync(ct).ConfigureAwait(false);
            if (!outcome.Ok)
            {
                quarantine?.Add(outcome);
            }

            outcomes.Add(outcome);
        }

        await block.Completion.ConfigureAwait(false); // a fault of the block is thrown here, never a shorter evaluation set
        var from = cached == 0 ? string.Empty : $"; {cached} read from {cache!.Directory}";
        log(quarantine is null
            ? $"linear-probe set: {outcomes.Count(o => o.Ok)} training clips (evaluation window) ready{from}"
            : $"evaluation set: {outcomes.Count(o => o.Ok)} retrieval clips ready ({outcomes.Count(o => !o.Ok)} quarantined{from})");
        return outcomes;
    }
}
