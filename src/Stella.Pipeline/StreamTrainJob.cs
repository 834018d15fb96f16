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

    /// <summary>Runs the job; returns the results file.</summary>
    public async Task<string> RunAsync(bool resume, CancellationToken cancellationToken)
    {
        TorchRuntime.Initialize();
        var manifestPath = config.Resolve(config.Manifest);
        await EnsureDataAsync(manifestPath, cancellationToken).ConfigureAwait(false);
        var manifest = StellaManifestReader.Read(manifestPath);
        var root = new DataRoot(config.DataRoot is null ? Path.GetDirectoryName(manifestPath)! : config.Resolve(config.DataRoot));
        var model = ModelConfig.Preset(config.Model);
        Directory.CreateDirectory(outDir);
        var checkpoints = new CheckpointStore(Path.Combine(outDir, "checkpoints"), config.Hash());
        if (!resume && checkpoints.Latest is not null)
        {
            throw new ArgumentException($"{outDir} already holds a run: add --resume to continue it, or choose another --out");
        }

        using var learner = LearnerFactory.Create(
            config.Method,
            new StellaTrainer(model, new StellaOptions { Seed = (ulong)config.Seed, LearningRate = config.LearningRate, ContrastiveWeight = config.ContrastiveWeight }, TorchRuntime.ResolveDevice(config.Device)),
            new LearnerOptions { MemoryBytes = config.MemoryMib * 1024L * 1024, Seed = (ulong)config.Seed });
        var position = resume ? await checkpoints.LoadAsync(learner, cancellationToken).ConfigureAwait(false) : null;
        position ??= new StreamPosition(0, 0, 0);
        var state = resume && File.Exists(StatePath) ? JsonSerializer.Deserialize<RunState>(File.ReadAllText(StatePath))! : new RunState();
        log(resume && learner.Steps > 0
            ? $"resuming {config.Method} at task {position.Task}, clip {position.ClipOffset} ({learner.Steps} steps done)"
            : $"stream-train: {config.Method}, {model.Name} model, {manifest.Tasks.Tasks.Count} tasks, {manifest.Split(ClipSplit.Train).Count()} training clips, batch {config.BatchSize}");

        var featurizer = new ClipFeaturizer(model, root, manifestPath);
        var quarantine = new Quarantine(Path.Combine(outDir, "quarantine.csv"));
        var evaluator = new Evaluator(await FeaturizeAllAsync(featurizer, manifest.Split(ClipSplit.Retrieval).ToList(), quarantine, cancellationToken).ConfigureAwait(false),
            manifest.Tasks.Tasks.Count, Path.Combine(Path.GetDirectoryName(manifestPath)!, "ground_truth.jsonl"));
        var periodic = new PeriodicCheckpointer(checkpoints, Math.Max(1, config.CheckpointEvery));
        var rng = new Random(config.Seed);
        var tasks = learner.NeedsJointStream
            ? [manifest.Split(ClipSplit.Train).OrderBy(_ => rng.Next()).ToList()]
            : manifest.Tasks.Tasks.Select((_, t) => manifest.Split(ClipSplit.Train).Where(c => c.Task == t).ToList()).ToList();

        try
        {
            for (var t = position.Task; t < tasks.Count; t++)
            {
                var epochClips = Enumerable.Range(0, config.EpochsPerTask).SelectMany(_ => tasks[t]).ToList();
                var offset = t == position.Task ? (int)position.ClipOffset : 0;
                position = await TrainTaskAsync(learner, featurizer, quarantine, periodic, epochClips, t, offset, position.SamplesSeen, state, cancellationToken)
                    .ConfigureAwait(false);
                var eval = evaluator.Run(learner);
                state.Evaluations.Add(eval);
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

        var results = Results.Write(outDir, config, manifest, learner, state, quarantine.Count);
        log($"done: {results}");
        return results;
    }

    private string StatePath => Path.Combine(outDir, "eval_state.json");

    private async Task<StreamPosition> TrainTaskAsync(
        Learner learner, ClipFeaturizer featurizer, Quarantine quarantine, PeriodicCheckpointer periodic, List<ClipRecord> clips,
        int task, int offset, long seen, RunState state, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ct = linked.Token;
        var workers = Math.Max(1, config.Workers);
        // Each clip's training window comes from its own seed (run seed, task, position in the task's clip list), so parallel decoding
        // and resuming give the same windows as one uninterrupted run. Later epochs of a task reuse the first epoch's features
        // (decoding is the slow part of the data path); a resumed run that lost them decodes them again, identically.
        var unique = Math.Max(1, clips.Count / Math.Max(1, config.EpochsPerTask));
        var cache = new System.Collections.Concurrent.ConcurrentDictionary<int, Lazy<Task<ClipOutcome>>>();
        var decode = new TransformBlock<(ClipRecord Clip, int Index), ClipOutcome>(
            item => cache.GetOrAdd(item.Index % unique, i => new Lazy<Task<ClipOutcome>>(() =>
                featurizer.RunAsync(item.Clip, FrameWindow.Train(new Random(unchecked((config.Seed * 1_000_003) + (task * 7_919) + i) & 0x7FFFFFFF)), ct))).Value,
            new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = workers, BoundedCapacity = workers * 4, EnsureOrdered = true, CancellationToken = ct });
        var batches = new BatchBlock<ClipOutcome>(config.BatchSize, new GroupingDataflowBlockOptions { BoundedCapacity = config.BatchSize * 2, CancellationToken = ct });
        var consumed = offset;
        var position = new StreamPosition(task, offset, seen);
        var watch = Stopwatch.StartNew();
        var bad = new ActionBlock<ClipOutcome>(
            outcome =>
            {
                quarantine.Add(outcome);
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
                await File.AppendAllTextAsync(Path.Combine(outDir, "metrics.jsonl"), JsonSerializer.Serialize(new
                {
                    step = learner.Steps, task, mae_a = result.MaeAudio, mae_v = result.MaeVideo, nce = result.Contrastive,
                    penalty = result.Penalty, avm = float.IsNaN(result.Avm) ? (float?)null : result.Avm, replayed = result.Replayed,
                    step_ms = step.Elapsed.TotalMilliseconds,
                }) + "\n", ct).ConfigureAwait(false);
                if (learner.Steps % 10 == 0)
                {
                    log(string.Create(CultureInfo.InvariantCulture,
                        $"task {task} step {learner.Steps}: clip {processed}/{clips.Count}, mae {result.MaeAudio + result.MaeVideo:0.000}, nce {result.Contrastive:0.000}, {step.Elapsed.TotalMilliseconds:0} ms/step, {processed / Math.Max(1e-9, watch.Elapsed.TotalSeconds):0.0} clips/s"));
                }

                await periodic.AfterStepAsync(learner, position, ct).ConfigureAwait(false);
                AfterStep?.Invoke(learner.Steps);
            },
            new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = 1, BoundedCapacity = 2, CancellationToken = ct });

        var propagate = new DataflowLinkOptions { PropagateCompletion = true };
        decode.LinkTo(batches, propagate, o => o.Ok);
        decode.LinkTo(bad, propagate, o => !o.Ok);
        batches.LinkTo(train, propagate);

        var started = Stopwatch.StartNew();
        for (var i = offset; i < clips.Count; i++)
        {
            if (!await decode.SendAsync((clips[i], i), ct).ConfigureAwait(false))
            {
                break;
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

    private async Task<List<ClipOutcome>> FeaturizeAllAsync(ClipFeaturizer featurizer, List<ClipRecord> clips, Quarantine quarantine, CancellationToken ct)
    {
        var block = new TransformBlock<ClipRecord, ClipOutcome>(
            clip => featurizer.RunAsync(clip, FrameWindow.Eval, ct),
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
                quarantine.Add(outcome);
            }

            outcomes.Add(outcome);
        }

        log($"evaluation set: {outcomes.Count(o => o.Ok)} retrieval clips ready ({outcomes.Count(o => !o.Ok)} quarantined)");
        return outcomes;
    }

    private async Task EnsureDataAsync(string manifestPath, CancellationToken ct)
    {
        if (File.Exists(manifestPath) || config.Synth is not { } options)
        {
            return;
        }

        log($"{manifestPath} is missing: rendering the built-in benchmark (one time)");
        var summary = await new SynthGenerator(options).GenerateAsync(Path.GetDirectoryName(manifestPath)!, null, ct).ConfigureAwait(false);
        log($"rendered {summary.Clips} clips in {summary.Elapsed.TotalSeconds:0.0} s");
    }
}
