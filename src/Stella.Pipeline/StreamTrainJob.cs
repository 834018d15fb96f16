using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Threading.Tasks.Dataflow;
using Stella.Continual.Checkpoints;
using Stella.Continual.Learning;
using Stella.Core.Manifests;
using Stella.Media.Decode;
using Stella.Media.Synth;
using Stella.Model;
using Stella.Model.Config;
using Stella.Model.Runtime;
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
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Called after every training step with the step count (tests use it to stop a run at a chosen point).</summary>
    public Action<long>? AfterStep { get; init; }

    /// <summary>
    /// Decode every training clip before training starts (the time is not counted as training time), so the learner trains on
    /// pre-built batches: the training-only baseline of the data-path benchmark. Same seeds, same windows, same results.
    /// </summary>
    public bool PrebuildFeatures { get; init; }

    /// <summary>Where the clips come from. Default: the config's manifest, decoded with ffmpeg (<see cref="ClipFileSource"/>).</summary>
    public IClipSource? Source { get; init; }

    /// <summary>Live counters for a progress display.</summary>
    public StreamProgress Progress { get; } = new();

    /// <summary>Runs the job; returns the results file.</summary>
    public async Task<string> RunAsync(bool resume, CancellationToken cancellationToken)
    {
        TorchRuntime.Initialize();
        // Peak RSS is a per-run figure: the high-water mark otherwise carries earlier runs of this process (stella compare).
        if (Stella.Core.Diagnostics.ProcessMemory.ResetPeak() is { } reason)
        {
            log($"note: peak RSS cannot be reset here ({reason}); it includes earlier work of this process");
        }

        var source = Source ?? await ClipFileSource.OpenAsync(config, log, cancellationToken).ConfigureAwait(false);
        var manifest = source.Manifest;
        var model = ModelConfig.Preset(config.Model);
        Directory.CreateDirectory(outDir);
        var checkpoints = new CheckpointStore(Path.Combine(outDir, "checkpoints"), config.Hash());
        if (!resume && checkpoints.Latest is not null)
        {
            throw new ArgumentException($"{outDir} already holds a run: add --resume to continue it, or choose another --out");
        }

        using var learner = LearnerFactory.Create(
            config.Method,
            new ModelTrainer(model, new StellaOptions { Seed = (ulong)config.Seed, LearningRate = config.LearningRate, ContrastiveWeight = config.ContrastiveWeight }, TorchRuntime.ResolveDevice(config.Device)),
            new LearnerOptions { MemoryBytes = config.MemoryMib * 1024L * 1024, MemoryItems = config.MemoryItems, Seed = (ulong)config.Seed });
        if (config.Init is { } init) { Stella.Model.Weights.InitWeights.Apply(learner.Trainer, config.Resolve(init), log); }
        var position = resume ? await checkpoints.LoadAsync(learner, cancellationToken).ConfigureAwait(false) : null;
        position ??= new StreamPosition(0, 0, 0);
        var state = resume && File.Exists(StatePath) ? JsonSerializer.Deserialize<RunState>(File.ReadAllText(StatePath))! : new RunState();
        log(resume && learner.Steps > 0
            ? $"resuming {config.Method} at task {position.Task}, clip {position.ClipOffset} ({learner.Steps} steps done)"
            : $"stream-train: {config.Method}, {model.Name} model, {manifest.Tasks.Tasks.Count} tasks, {manifest.Split(ClipSplit.Train).Count()} training clips, batch {config.BatchSize}");

        var quarantine = new Quarantine(Path.Combine(outDir, "quarantine.csv"));
        var trainingLog = new TrainingLog(outDir);
        var probeClips = config.ProbePerClass <= 0 ? [] : manifest.Split(ClipSplit.Train).GroupBy(c => c.Label).SelectMany(g => g.Take(config.ProbePerClass)).ToList();
        var evaluator = new Evaluator(await FeaturizeAllAsync(source, manifest.Split(ClipSplit.Retrieval).ToList(), quarantine, cancellationToken).ConfigureAwait(false),
            manifest.Tasks.Tasks.Count, source.GroundTruth,
            probeClips.Count == 0 ? null : await FeaturizeAllAsync(source, probeClips, null, cancellationToken).ConfigureAwait(false));
        var plots = Directory.CreateDirectory(Path.Combine(outDir, "plots")).FullName;
        var periodic = new PeriodicCheckpointer(checkpoints, Math.Max(1, config.CheckpointEvery));
        var rng = new Random(config.Seed);
        var training = manifest.Split(ClipSplit.Train).ToList();
        if (config.Subset is { } subset)
        {
            var keep = ReadSubset(config.Resolve(subset), training.Count);
            training = training.Where((_, i) => keep.Contains(i)).ToList();
            log($"training on the subset {subset}: {training.Count} clips");
        }

        var tasks = learner.NeedsJointStream
            ? [training.OrderBy(_ => rng.Next()).ToList()]
            : manifest.Tasks.Tasks.Select((_, t) => training.Where(c => c.Task == t).ToList()).ToList();

        // A clip's training window depends only on (run seed, task, position in the task), so read-ahead and resuming change timing only.
        var cache = new FeatureCache(
            (task, i, clip, ct) => source.TrainAsync(clip, task, i, ct),
            keep: config.EpochsPerTask > 1 || PrebuildFeatures);
        if (PrebuildFeatures)
        {
            var built = Stopwatch.StartNew();
            for (var t = position.Task; t < tasks.Count; t++)
            {
                await cache.PrefetchAsync(t, tasks[t], tasks[t].Count, config.Workers, cancellationToken).ConfigureAwait(false);
            }

            log($"pre-built features of {tasks.Skip(position.Task).Sum(t => t.Count)} training clips in {built.Elapsed.TotalSeconds:0.0} s");
        }

        Progress.SetPlan(tasks.Count, tasks.Skip(position.Task).Sum(t => (long)t.Count * config.EpochsPerTask) - position.ClipOffset);
        Task prefetch = Task.CompletedTask;
        try
        {
            for (var t = position.Task; t < tasks.Count; t++)
            {
                var epochClips = Enumerable.Range(0, config.EpochsPerTask).SelectMany(_ => tasks[t]).ToList();
                var offset = t == position.Task ? (int)position.ClipOffset : 0;
                var next = t + 1 < tasks.Count && !PrebuildFeatures ? tasks[t + 1] : null;
                position = await TrainTaskAsync(learner, cache, quarantine, periodic, trainingLog, epochClips, t, offset, position.SamplesSeen, state,
                    startPrefetch: next is null ? null : () => prefetch = cache.PrefetchAsync(t + 1, next, config.PrefetchClips, config.Workers, cancellationToken),
                    cancellationToken).ConfigureAwait(false);
                cache.DropBefore(t + 1);
                Progress.SetPhase("evaluating");
                var eval = evaluator.Run(learner);
                state.Evaluations.Add(eval);
                LogEvaluation(trainingLog, learner.Steps, t, eval);
                var overlay = Path.Combine(plots, $"attention_after_task{t}.png");
                Reports.Plots.AttentionOverlay(overlay, evaluator.AttentionRows(2, model.FrameSize, model.Patch), model.FrameSize, model.FrameSize / model.Patch);
                trainingLog.Image("attention", overlay, t);
                log(string.Create(CultureInfo.InvariantCulture,
                    $"task {t} done: a2v R@1/5/10 {string.Join("/", eval.A2V.Take(t + 1).Select(r => r[0].ToString("0", CultureInfo.InvariantCulture)))} (per task R@1), v2a R@10 avg {eval.V2A.Take(t + 1).Average(r => r[2]):0.0}"));
                position = new StreamPosition(t + 1, 0, position.SamplesSeen);
                await File.WriteAllTextAsync(StatePath, JsonSerializer.Serialize(state, Json), cancellationToken).ConfigureAwait(false);
                await checkpoints.SaveAsync(learner, position, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            log($"stopped: checkpoint at step {learner.Steps} written; run again with --resume to continue");
            throw;
        }
        finally
        {
            await prefetch.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        }

        Progress.SetPhase("done");
        var results = Results.Write(outDir, config, manifest, learner, state, quarantine.Count);
        log($"done: {results}");
        return results;
    }

    private string StatePath => Path.Combine(outDir, "eval_state.json");

    private async Task<StreamPosition> TrainTaskAsync(
        Learner learner, FeatureCache cache, Quarantine quarantine, PeriodicCheckpointer periodic, TrainingLog trainingLog, List<ClipRecord> clips,
        int task, int offset, long seen, RunState state, Action? startPrefetch, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ct = linked.Token;
        var workers = Math.Max(1, config.Workers);
        var unique = Math.Max(1, clips.Count / Math.Max(1, config.EpochsPerTask));
        var decode = new TransformBlock<(ClipRecord Clip, int Index), ClipOutcome>(
            async item =>
            {
                var outcome = await cache.Take(task, item.Index % unique, item.Clip, ct).ConfigureAwait(false);
                Progress.Decoded();
                return outcome;
            },
            new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = workers, BoundedCapacity = workers * 4, EnsureOrdered = true, CancellationToken = ct });
        var batches = new BatchBlock<ClipOutcome>(config.BatchSize, new GroupingDataflowBlockOptions { BoundedCapacity = config.BatchSize * 2, CancellationToken = ct });
        var consumed = offset;
        var position = new StreamPosition(task, offset, seen);
        var watch = Stopwatch.StartNew();
        var bad = new ActionBlock<ClipOutcome>(
            outcome =>
            {
                quarantine.Add(outcome);
                Progress.Quarantined();
                log($"quarantined {outcome.Clip.ClipId}: {outcome.Failure}: {outcome.Detail}");
                Interlocked.Increment(ref consumed);
                var share = quarantine.Count / (double)Math.Max(1, state.ClipsConsumed + consumed);
                if (state.ClipsConsumed + consumed >= 20 && share > config.MaxQuarantineShare)
                {
                    linked.Cancel();
                    throw new InvalidOperationException(
                        $"{quarantine.Count} of {state.ClipsConsumed + consumed} clips quarantined ({share:P0}), above the tolerated {config.MaxQuarantineShare:P0}: see quarantine.csv");
                }
            },
            new ExecutionDataflowBlockOptions { BoundedCapacity = 64, CancellationToken = ct });
        var train = new ActionBlock<ClipOutcome[]>(
            async batch =>
            {
                using var scope = torch.NewDisposeScope();
                var c = learner.Trainer.Config;
                var step = Stopwatch.StartNew();
                var result = learner.Step(new StreamBatch(
                    torch.tensor(batch.SelectMany(b => b.AudioPatches!).ToArray(), [batch.Length, c.AudioTokens, c.AudioPatchDim], device: learner.Trainer.Device),
                    torch.tensor(batch.SelectMany(b => b.VideoPatches!).ToArray(), [batch.Length, c.VideoTokens, c.VideoPatchDim], device: learner.Trainer.Device),
                    batch.Select(b => b.Clip.ClipId).ToList(), batch.Select(b => b.Clip.Task).ToList()));
                state.StepMilliseconds += step.Elapsed.TotalMilliseconds;
                state.Steps++;
                var processed = Interlocked.Add(ref consumed, batch.Length);
                state.TrainClips += batch.Length;
                position = new StreamPosition(task, processed, seen + processed - offset);
                var loss = result.MaeAudio + result.MaeVideo + (config.ContrastiveWeight * result.Contrastive);
                Progress.Stepped(learner.Steps, batch.Length, loss);
                trainingLog.Write("train", learner.Steps, new Dictionary<string, double?>
                {
                    ["task"] = task, ["loss"] = loss, ["mae_audio"] = result.MaeAudio, ["mae_video"] = result.MaeVideo, ["nce"] = result.Contrastive,
                    ["penalty"] = result.Penalty, ["avm"] = result.Avm, ["replayed"] = result.Replayed, ["step_ms"] = step.Elapsed.TotalMilliseconds,
                    ["clips_per_s"] = (processed - offset) / Math.Max(1e-9, watch.Elapsed.TotalSeconds),
                });
                if (learner.Steps % 10 == 0)
                {
                    var p = Progress.Snapshot();
                    log(string.Create(CultureInfo.InvariantCulture,
                        $"task {task} step {learner.Steps}: clip {processed}/{clips.Count}, loss {loss:0.000} (mae {result.MaeAudio + result.MaeVideo:0.000}, nce {result.Contrastive:0.000}), {step.Elapsed.TotalMilliseconds:0} ms/step, {(processed - offset) / Math.Max(1e-9, watch.Elapsed.TotalSeconds):0.0} clips/s, queues decode/batch/train {p.DecodeQueue}/{p.BatchQueue}/{p.TrainQueue}, ETA {(p.Eta is { } eta ? eta.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : "?")}"));
                }

                await periodic.AfterStepAsync(learner, position, ct).ConfigureAwait(false);
                AfterStep?.Invoke(learner.Steps);
            },
            new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = 1, BoundedCapacity = 2, CancellationToken = ct });

        var propagate = new DataflowLinkOptions { PropagateCompletion = true };
        decode.LinkTo(batches, propagate, o => o.Ok);
        decode.LinkTo(bad, propagate, o => !o.Ok);
        batches.LinkTo(train, propagate);
        Progress.StartTask(task, () => (decode.InputCount + decode.OutputCount, batches.OutputCount, train.InputCount));

        var started = Stopwatch.StartNew();
        for (var i = offset; i < clips.Count; i++)
        {
            if (!await decode.SendAsync((clips[i], i), ct).ConfigureAwait(false))
            {
                break;
            }

            // Once every distinct clip of this task has been asked for, read the next task ahead as soon as they are decoded.
            if (startPrefetch is not null && (i == Math.Min(clips.Count, offset + unique) - 1))
            {
                var start = startPrefetch;
                _ = cache.WhenTaskReadyAsync(task).ContinueWith(_ => start(), ct, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
                startPrefetch = null;
            }
        }

        decode.Complete();
        try
        {
            await Task.WhenAll(train.Completion, bad.Completion).ConfigureAwait(false);
        }
        catch (Exception) when (bad.Completion.IsFaulted)
        {
            throw bad.Completion.Exception!.InnerException!;
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            await periodic.FinishAsync(learner, position, CancellationToken.None).ConfigureAwait(false);
            throw new OperationCanceledException(cancellationToken);
        }

        state.TrainSeconds += started.Elapsed.TotalSeconds;
        state.ClipsConsumed += consumed - offset;
        return position;
    }

    private static HashSet<int> ReadSubset(string path, int count)
    {
        using var stream = File.OpenRead(path);
        var header = Stella.Core.Arrays.Npy.ReadHeader(stream, path);
        if (header.Descr != "<i8" || header.Shape.Length != 1)
        {
            throw new InvalidDataException($"{path}: a subset is a 1-D int64 .npy (got dtype '{header.Descr}', shape ({string.Join(", ", header.Shape)}))");
        }

        var bytes = new byte[header.Count * 8];
        stream.ReadExactly(bytes);
        var rows = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(bytes).ToArray();
        var bad = rows.FirstOrDefault(r => r < 0 || r >= count, -1);
        if (rows.Any(r => r < 0 || r >= count))
        {
            throw new InvalidDataException($"{path}: row {bad} is outside the manifest's {count} training clips");
        }

        return rows.Select(r => (int)r).ToHashSet();
    }

    private static void LogEvaluation(TrainingLog trainingLog, long step, int task, Evaluation eval)
    {
        var values = new Dictionary<string, double?> { ["after_task"] = task };
        for (var k = 0; k < Evaluator.Ks.Length; k++)
        {
            values[$"a2v_R@{Evaluator.Ks[k]}_seen"] = eval.A2V.Take(task + 1).Average(r => r[k]);
            values[$"v2a_R@{Evaluator.Ks[k]}_seen"] = eval.V2A.Take(task + 1).Average(r => r[k]);
        }

        values["modality_gap_seen"] = eval.SeenGap(task);
        var loc = eval.Localization.Take(task + 1).Where(l => l is not null).Select(l => l!.Value).ToList();
        values["localization_seen"] = loc.Count == 0 ? null : loc.Average();
        trainingLog.Write("eval", step, values);
    }

    private async Task<List<ClipOutcome>> FeaturizeAllAsync(IClipSource source, List<ClipRecord> clips, Quarantine? quarantine, CancellationToken ct)
    {
        var block = new TransformBlock<ClipRecord, ClipOutcome>(
            clip => source.EvalAsync(clip, ct),
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

        log(quarantine is null
            ? $"linear-probe set: {outcomes.Count(o => o.Ok)} training clips (evaluation window) ready"
            : $"evaluation set: {outcomes.Count(o => o.Ok)} retrieval clips ready ({outcomes.Count(o => !o.Ok)} quarantined)");
        return outcomes;
    }
}
