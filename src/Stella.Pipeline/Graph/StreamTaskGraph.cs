using System.Threading.Tasks.Dataflow;
using Stella.Continual.Learning;
using Stella.Core.Manifests;
using Stella.Pipeline.Sources;
using Stella.Pipeline.Telemetry;

namespace Stella.Pipeline.Graph;

/// <summary>
/// The stream-train graph of one task, built from the user's stages:
/// <code>
/// decode -> spectrogram -> patches -> batch -> [scoring -> selection ->] training sink -> memory
///    \__________\_____________\______ quarantine (failed clips)
/// </code>
/// For a source of stored patches one <c>read</c> stage stands for decode, spectrogram and patches; learners that do not select
/// patches have no scoring and selection blocks. The per-clip stages run <see cref="Workers"/> clips at a time in stream order;
/// the learner's stages run one step at a time, and a step starts only when the previous one has left the memory stage, so scoring
/// batch n sees the AVM and the memory as step n-1 left them (exactly the sequential algorithm). Stopping (the token) ends the
/// per-clip stages at once and lets a running step finish; no step starts after it. A fault anywhere (the quarantine limit, a
/// failed checkpoint) stops every block; <see cref="RunAsync"/> returns only when no block runs any more, then throws.
/// </summary>
internal sealed class StreamTaskGraph
{
    /// <summary>The learner trained.</summary>
    public required Learner Learner { get; init; }

    /// <summary>Where clips come from.</summary>
    public required IClipSource Source { get; init; }

    /// <summary>Features of earlier epochs and read-ahead.</summary>
    internal required FeatureCache Cache { get; init; }

    /// <summary>The stream position.</summary>
    public required StreamCursor Cursor { get; init; }

    /// <summary>The quarantine branch.</summary>
    public required QuarantineStage Quarantine { get; init; }

    /// <summary>The memory stage and the job's bookkeeping after it.</summary>
    public required MemoryStage Memory { get; init; }

    /// <summary>Live counters.</summary>
    public required StreamProgress Progress { get; init; }

    /// <summary>Clips per batch.</summary>
    public required int BatchSize { get; init; }

    /// <summary>Clips decoded at once.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Test hook: called by every stage before its work on a clip or a step; an exception thrown is that stage's failure.</summary>
    public Action<string, ClipRecord>? Fault { get; init; }

    /// <summary>
    /// Streams <paramref name="stream"/> from <paramref name="offset"/> through the graph. <paramref name="distinctReady"/> runs once
    /// every clip before stream index <paramref name="distinct"/> has left the per-clip stages (the next task's read-ahead starts then).
    /// </summary>
    public async Task RunAsync(int task, IReadOnlyList<ClipRequest> stream, int offset, int distinct, Action? distinctReady, CancellationToken stop)
    {
        using var halt = CancellationTokenSource.CreateLinkedTokenSource(stop); // stop, or a fault: no more clips
        using var abort = new CancellationTokenSource(); // a fault: the learner's stages stop too

        // A fault stops everything: no more clips, and the learner's stages too. In try/finally so that an exception thrown by a
        // callback registered on halt cannot skip abort.
        void StopAll()
        {
            try
            {
                halt.Cancel();
            }
            finally
            {
                abort.Cancel();
            }
        }
        var workers = Math.Max(1, Workers);
        var perClip = new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = workers, BoundedCapacity = workers * 4, EnsureOrdered = true, CancellationToken = halt.Token };
        var single = new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = 1, BoundedCapacity = 1, CancellationToken = abort.Token };
        // The stages after the entry are never cancelled: a step that has started always reaches the memory stage, so the learner,
        // the memory and the cursor never disagree (at most one step is in flight, and a fault stops the entry admitting more).
        var sequential = new ExecutionDataflowBlockOptions { MaxDegreeOfParallelism = 1, BoundedCapacity = 1 };
        var propagate = new DataflowLinkOptions { PropagateCompletion = true };
        var blocks = new List<IDataflowBlock>();
        var readyOnce = 0;

        // Every clip leaves the per-clip stages once: failed (to the quarantine branch, which the cursor then waits for) or finished
        // (to the batches). Either way its outcome is kept for later epochs, and the next task's read-ahead may start.
        ClipInFlight Exit(ClipInFlight item)
        {
            if (item.Failed)
            {
                Cursor.Failing(item.Request.Index);
            }

            Cache.Put(item.Request.WindowTask, item.Request.WindowIndex, item.Outcome!);
            if (item.Request.Index >= distinct - 1 && distinctReady is not null && Interlocked.Exchange(ref readyOnce, 1) == 0)
            {
                distinctReady();
            }

            return item;
        }

        ClipInFlight Checked(string stage, ClipInFlight item, Func<ClipInFlight, ClipInFlight> run)
        {
            if (item.Outcome is null && Fault is not null)
            {
                StageGuard.Run(stage, item, i => Fault(stage, i.Request.Clip));
            }

            return run(item);
        }

        // The quarantine branch drains even when the run stops: a failed clip the cursor waits for is always written.
        var quarantine = new ActionBlock<ClipInFlight>(item => Quarantine.Record(item.Outcome!, item.Request.Index), new ExecutionDataflowBlockOptions { BoundedCapacity = 64 });
        blocks.Add(quarantine);
        var clipStages = new List<IDataflowBlock>();
        ITargetBlock<ClipRequest> head;
        ISourceBlock<ClipInFlight> patched;
        if (Source.Featurizer is { } f)
        {
            var decode = new TransformBlock<ClipRequest, ClipInFlight>(
                async r =>
                {
                    var item = new ClipInFlight(r) { Augment = Source.Augmentation(r) };
                    if (Cache.TryTake(r.WindowTask, r.WindowIndex, out var cached))
                    {
                        // An augmented clip is made again from its cached media, with this epoch's draws; anything else is taken as it is.
                        var outcome = await cached.ConfigureAwait(false);
                        if (item.Augment is not null && outcome.Material is { } material)
                        {
                            (item.Decoded, item.Spectrogram) = (material.Decoded, material.Spectrogram);
                        }
                        else
                        {
                            item.Outcome = outcome;
                        }
                    }
                    else
                    {
                        if (Fault is not null)
                        {
                            StageGuard.Run(DecodeStage.Name, item, i => Fault(DecodeStage.Name, i.Request.Clip));
                        }

                        item = await f.Decode.RunAsync(item, Source.TrainWindow(r.WindowTask, r.WindowIndex), halt.Token).ConfigureAwait(false);
                    }

                    Progress.Decoded();
                    return item.Failed ? Exit(item) : item;
                },
                perClip);
            var spectrogram = new TransformBlock<ClipInFlight, ClipInFlight>(
                i => Checked(SpectrogramStage.Name, i, f.Spectrogram.Run) is { Failed: true } failed ? Exit(failed) : i, perClip);
            var patches = new TransformBlock<ClipInFlight, ClipInFlight>(i => Exit(Checked(PatchStage.Name, i, f.Patches.Run)), perClip);
            decode.LinkTo(spectrogram, propagate, i => !i.Failed);
            decode.LinkTo(quarantine, i => i.Failed);
            spectrogram.LinkTo(patches, propagate, i => !i.Failed);
            spectrogram.LinkTo(quarantine, i => i.Failed);
            (head, patched) = (decode, patches);
            clipStages.AddRange([decode, spectrogram, patches]);
        }
        else
        {
            // Stored inputs: decode and spectrogram ran at preprocess time, and the patches too unless the run is augmented: then
            // the rows keep the media and each epoch's patches are cut here with that epoch's draws, as from the clips.
            var augmented = new PatchStage(Learner.Trainer.Config, new Stella.Media.Decode.DecodeOptions { FrameSize = Learner.Trainer.Config.FrameSize });
            var read = new TransformBlock<ClipRequest, ClipInFlight>(
                async r =>
                {
                    var item = new ClipInFlight(r) { Augment = Source.Augmentation(r) };
                    item.Outcome = Cache.TryTake(r.WindowTask, r.WindowIndex, out var cached) ? await cached.ConfigureAwait(false) : null;
                    item = await StageGuard.RunAsync("read", halt.Token, item, async i =>
                    {
                        Fault?.Invoke("read", i.Request.Clip);
                        var outcome = await Source.TrainAsync(r.Clip, r.WindowTask, r.WindowIndex, halt.Token).ConfigureAwait(false);
                        i.Outcome = outcome.Ok ? outcome : outcome with { Stage = outcome.Stage ?? "read" };
                    }).ConfigureAwait(false);
                    if (item.Augment is not null && item.Outcome is { Ok: true, Material: { } material })
                    {
                        (item.Decoded, item.Spectrogram, item.Outcome) = (material.Decoded, material.Spectrogram, null);
                        item = Checked(PatchStage.Name, item, augmented.Run);
                    }

                    Progress.Decoded();
                    return Exit(item);
                },
                perClip);
            (head, patched) = (read, read);
            clipStages.Add(read);
        }

        blocks.AddRange(clipStages);
        patched.LinkTo(quarantine, i => i.Failed);
        _ = Task.WhenAll(clipStages.Select(b => b.Completion)).ContinueWith(_ => quarantine.Complete(), TaskScheduler.Default);

        // Batches, then the learner's stages, one step at a time.
        var batches = new BatchBlock<ClipInFlight>(BatchSize, new GroupingDataflowBlockOptions { BoundedCapacity = BatchSize * 2, CancellationToken = abort.Token });
        patched.LinkTo(batches, propagate, i => !i.Failed);
        var batchStage = new BatchStage(Learner.Trainer.Config, Learner.Trainer.Device);
        using var stepDone = new SemaphoreSlim(1, 1);
        var live = new System.Collections.Concurrent.ConcurrentDictionary<TrainingStep, byte>();
        var entry = new TransformManyBlock<ClipInFlight[], TrainingStep>(
            async clips =>
            {
                await stepDone.WaitAsync(abort.Token).ConfigureAwait(false);
                var step = new TrainingStep(task, clips);
                live[step] = 0;
                if (halt.IsCancellationRequested || abort.IsCancellationRequested || !await Cursor.WhenQuarantinedBeforeAsync(step.End).ConfigureAwait(false))
                {
                    stepDone.Release();
                    return [];
                }

                step.Timer.Start();
                try
                {
                    FaultOnClips(BatchStage.Name, step);
                    batchStage.Run(step);
                }
                catch (Exception e)
                {
                    step.Fail(BatchStage.Name, e);
                }

                return [step];
            },
            single);
        batches.LinkTo(entry, propagate);
        blocks.AddRange([batches, entry]);
        ISourceBlock<TrainingStep> last = entry;
        var stages = Learner.SelectsPatches
            ? new[] { new LearnerStage(LearnerStage.Scoring, Learner.Score, FaultOnClips), new LearnerStage(LearnerStage.Selection, Learner.Select, FaultOnClips), new LearnerStage(LearnerStage.Sink, Learner.Train, FaultOnClips) }
            : [new LearnerStage(LearnerStage.Sink, Learner.Train, FaultOnClips)];
        foreach (var stage in stages)
        {
            var block = new TransformBlock<TrainingStep, TrainingStep>(stage.Run, sequential);
            last.LinkTo(block, propagate);
            blocks.Add(block);
            last = block;
        }

        var memory = new ActionBlock<TrainingStep>(
            async step =>
            {
                try
                {
                    await Memory.RunAsync(step).ConfigureAwait(false);
                }
                catch
                {
                    // Before the step gate opens: the entry must see the fault and admit no step this block would never take.
                    StopAll();
                    throw;
                }
                finally
                {
                    step.Dispose();
                    live.TryRemove(step, out _);
                    stepDone.Release();
                }
            },
            sequential);
        last.LinkTo(memory, propagate);
        blocks.Add(memory);

        // A stop or a fault cancels the blocks, but a cancelled token completes only a block's input side; its output side
        // completes when its items are gone, and checks that only when something happens to it (an item taken or handed back, a
        // new link). A block whose input side had finished before the stop (every clip taken in) and whose next block then
        // declined for good (a faulted quarantine, a cancelled stage) was never checked again, and the run hung instead of
        // stopping (seen once in the suite: a full quarantine while decode still held failed clips). So from the stop on, each
        // source gets a link to a NullTarget: a new link makes it offer its first item again, the NullTarget takes it, and the
        // cancelled source then completes, dropping the rest (a cancelled block drops what it holds anyway; a later run reads those
        // clips again). Failed clips go to the NullTarget only once the quarantine has ended (until then they are its), batches
        // only once the learner's stages are aborted. Dataflow has no other way to make a cancelled block let go of its output.
        void Discard()
        {
            // Runs inside Cancel(): linking to a NullTarget does not throw (a completed source ignores it).
            foreach (var source in clipStages.OfType<ISourceBlock<ClipInFlight>>())
            {
                source.LinkTo(DataflowBlock.NullTarget<ClipInFlight>(), i => !i.Failed || quarantine.Completion.IsCompleted);
            }

            if (abort.IsCancellationRequested)
            {
                batches.LinkTo(DataflowBlock.NullTarget<ClipInFlight[]>());
            }
        }

        using var discardOnHalt = halt.Token.Register(Discard);
        using var discardOnAbort = abort.Token.Register(Discard);
        var discardOnQuarantineEnd = quarantine.Completion.ContinueWith(_ => { if (halt.IsCancellationRequested) { Discard(); } }, TaskScheduler.Default);

        var watchers = new List<Task>();
        foreach (var block in blocks)
        {
            watchers.Add(block.Completion.ContinueWith(
                _ =>
                {
                    Cursor.Abandon();
                    StopAll();
                },
                CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default));
        }

        Progress.StartTask(task, () => (clipStages.OfType<TransformBlock<ClipRequest, ClipInFlight>>().Sum(b => b.InputCount + b.OutputCount), batches.OutputCount, entry.InputCount));
        try
        {
            for (var i = offset; i < stream.Count && !halt.IsCancellationRequested; i++)
            {
                if (!await head.SendAsync(stream[i], halt.Token).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (halt.IsCancellationRequested)
        {
            // Stopped while waiting for room in the decode queue: the blocks are wound down below like any other stop.
        }

        head.Complete();
        try
        {
            await Task.WhenAll(blocks.Select(b => b.Completion)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Inspected below: a fault wins over a stop.
        }

        // The fault watchers cancel the token sources: they finish before those are disposed (a skipped one is cancelled).
        await Task.WhenAll(watchers).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
        await discardOnQuarantineEnd.ConfigureAwait(false);

        // Steps that a fault left in a cancelled block's buffer: their tensors are freed here, not by the finalizer.
        foreach (var step in live.Keys)
        {
            step.Dispose();
        }

        var fault = blocks.Select(b => b.Completion).Where(c => c.IsFaulted).SelectMany(c => c.Exception!.Flatten().InnerExceptions).ToList();
        if (fault.Count > 0)
        {
            var first = fault.FirstOrDefault(e => e is QuarantineLimitException) ?? fault[0];
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
        }

        stop.ThrowIfCancellationRequested();

        void FaultOnClips(string stage, TrainingStep step)
        {
            foreach (var clip in step.Clips)
            {
                Fault?.Invoke(stage, clip.Request.Clip);
            }
        }
    }
}
