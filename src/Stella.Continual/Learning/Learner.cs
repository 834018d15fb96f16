using Stella.Continual.Memory;
using Stella.Model;
using Stella.Model.Runtime;
using Stella.Model.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Continual.Learning;

/// <summary>
/// A task-free continual learner: it sees batches of clips one after another and never a task boundary. Subclasses decide what the
/// memory stores and how replay joins the batch. The trainer (model, optimizers, generator) and the memory are its whole state.
/// </summary>
public abstract class Learner : IDisposable
{
    /// <summary>
    /// Creates the learner; <paramref name="itemBytes"/> is the payload of one memory item (0: no memory). <paramref name="extraModelBytes"/>
    /// is what the method's extra models take (CLS-ER's two, ESMER's one): they count against the same memory budget in bytes, so
    /// the memory holds what is left of it (unless a number of items is set).
    /// </summary>
    protected Learner(string name, ModelTrainer trainer, LearnerOptions options, long itemBytes, long extraModelBytes = 0)
    {
        Name = name;
        Trainer = trainer;
        Options = options;
        ItemBytes = itemBytes;
        ExtraModelBytes = extraModelBytes;
        if (itemBytes > 0)
        {
            var left = options.MemoryBytes - extraModelBytes;
            if (options.MemoryItems is null && left < itemBytes)
            {
                throw new Stella.Core.UserInputException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"{name}: its extra models take {extraModelBytes / 1048576.0:0.0} MiB of the memory budget ({options.MemoryBytes / 1048576.0:0.0} MiB), which leaves no room for one item of {itemBytes / 1048576.0:0.00} MiB; raise memory_mib"));
            }

            var capacity = options.MemoryItems ?? MemoryItem.CapacityFor(left, itemBytes);
            Memory = new RehearsalMemory(capacity, options.Seed);
        }
    }

    /// <summary>Bytes of the method's extra models (0 for most), counted in the memory budget.</summary>
    public long ExtraModelBytes { get; }

    /// <summary>
    /// Writes the method's own state beyond the trainer and the memory (extra models, running statistics) into a checkpoint folder;
    /// returns the files written (relative names). None for most learners.
    /// </summary>
    public virtual IReadOnlyList<string> SaveExtraState(string dir) => [];

    /// <summary>Loads what <see cref="SaveExtraState"/> wrote.</summary>
    public virtual void LoadExtraState(string dir)
    {
    }

    /// <summary>
    /// Called once initial weights (a warm-up's, <c>init:</c>) were loaded into the trainer, before any checkpoint: the methods that
    /// keep averages of the model start them from those weights, as the authors copy the model they were given.
    /// </summary>
    public virtual void InitialWeightsLoaded()
    {
    }

    /// <summary>Method name, as on the command line.</summary>
    public string Name { get; }

    /// <summary>Model, optimizers and generator.</summary>
    public ModelTrainer Trainer { get; }

    /// <summary>Settings.</summary>
    public LearnerOptions Options { get; }

    /// <summary>Bytes of one memory item (0 when the learner keeps no memory).</summary>
    public long ItemBytes { get; }

    /// <summary>The rehearsal memory (null for learners without one).</summary>
    public RehearsalMemory? Memory { get; private set; }

    /// <summary>True when the stream must be shuffled across tasks (the Multitask upper bound).</summary>
    public virtual bool NeedsJointStream => false;

    /// <summary>Steps taken.</summary>
    public long Steps { get; private set; }

    /// <summary>
    /// True when the learner scores each batch with its AVM and trains on a selection of the patches: the stream-train graph then
    /// routes its steps through the scoring and selection stages; other learners go straight from the batch to the training sink.
    /// </summary>
    public virtual bool SelectsPatches => false;

    /// <summary>
    /// One whole training step on <paramref name="batch"/>: the stages in order, as the stream-train graph runs them.
    /// <paramref name="stage"/>, when given, is called with each stage's name ("score", "select", "train", "remember") before it
    /// runs and with "end" after the last: the efficiency benchmark's memory figures per stage.
    /// </summary>
    public LearnerStep Step(StreamBatch batch, Action<string>? stage = null)
    {
        using var work = new StepWork(batch, ownsBatch: false);
        if (SelectsPatches)
        {
            stage?.Invoke("score");
            Score(work);
            stage?.Invoke("select");
            Select(work);
        }

        stage?.Invoke("train");
        Train(work);
        stage?.Invoke("remember");
        Remember(work);
        stage?.Invoke("end");
        return work.Result!;
    }

    /// <summary>Scoring stage: draws the replay items and scores the batch with the AVM (no gradient).</summary>
    public void Score(StepWork work)
    {
        using var scope = torch.NewDisposeScope();
        ScoreCore(work);
    }

    /// <summary>Selection stage: picks the patches of the batch and of the replay items that the backbone trains on.</summary>
    public void Select(StepWork work)
    {
        using var scope = torch.NewDisposeScope();
        SelectCore(work);
    }

    /// <summary>Training sink: the backbone step (and the AVM step, for learners with an AVM); sets the step's losses.</summary>
    public void Train(StepWork work)
    {
        using var scope = torch.NewDisposeScope();
        work.Result = TrainCore(work);
    }

    /// <summary>Memory stage: offers the batch to the rehearsal memory; the step is complete and counted.</summary>
    public void Remember(StepWork work)
    {
        using var scope = torch.NewDisposeScope();
        RememberCore(work);
        Steps++;
    }

    /// <summary>Replaces the memory and step count with a checkpoint's.</summary>
    public void Restore(RehearsalMemory? memory, long steps)
    {
        Memory = memory;
        Steps = steps;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        DisposeExtra();
        Trainer.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the method's own native state (extra models).</summary>
    protected virtual void DisposeExtra()
    {
    }

    /// <summary>The method's scoring (learners that select patches).</summary>
    protected virtual void ScoreCore(StepWork work) => throw new InvalidOperationException($"{Name} does not score batches");

    /// <summary>The method's selection (learners that select patches).</summary>
    protected virtual void SelectCore(StepWork work) => throw new InvalidOperationException($"{Name} does not select patches");

    /// <summary>The method's training step; returns its losses.</summary>
    protected abstract LearnerStep TrainCore(StepWork work);

    /// <summary>The method's memory update (none for learners without a memory).</summary>
    protected virtual void RememberCore(StepWork work)
    {
    }

    /// <summary>Config of the model.</summary>
    protected Model.Config.ModelConfig Config => Trainer.Config;

    /// <summary>All token indices of <paramref name="rows"/> rows.</summary>
    protected Tensor AllAudio(long rows) => Backbone.AllIndices(rows, Config.AudioTokens, Trainer.Device);

    /// <summary>All video token indices.</summary>
    protected Tensor AllVideo(long rows) => Backbone.AllIndices(rows, Config.VideoTokens, Trainer.Device);

    /// <summary>Stacks equal-length float rows into a [rows, ...shape] tensor.</summary>
    protected Tensor Stack(IEnumerable<float[]> rows, params long[] shape)
    {
        var list = rows.ToList();
        var flat = new float[list.Sum(r => r.Length)];
        var offset = 0;
        foreach (var r in list)
        {
            r.CopyTo(flat, offset);
            offset += r.Length;
        }

        return torch.tensor(flat, [list.Count, .. shape], device: Trainer.Device);
    }

    /// <summary>The full audio and video patches of <paramref name="items"/> as [rows, M, P*P] and [rows, N, 3*P*P] tensors.</summary>
    protected (Tensor Audio, Tensor Video) StackPatches(IEnumerable<MemoryItem> items)
    {
        var list = items as IReadOnlyList<MemoryItem> ?? items.ToList();
        return (Stack(list.Select(r => r.AudioPatches), Config.AudioTokens, Config.AudioPatchDim),
                Stack(list.Select(r => r.VideoPatches), Config.VideoTokens, Config.VideoPatchDim));
    }

    /// <summary>Stacks index rows into a [rows, k] long tensor.</summary>
    protected Tensor StackIndices(IEnumerable<int[]> rows)
    {
        var list = rows.ToList();
        return torch.tensor(list.SelectMany(r => r.Select(v => (long)v)).ToArray(), [list.Count, list[0].Length], device: Trainer.Device);
    }

    /// <summary>Row <paramref name="i"/> of <paramref name="t"/> as a flat float array.</summary>
    protected static float[] Row(Tensor t, int i) => t[i].contiguous().cpu().data<float>().ToArray();

    /// <summary>Row <paramref name="i"/> of an index tensor as ints.</summary>
    protected static int[] IndexRow(Tensor t, int i) => t[i].cpu().data<long>().ToArray().Select(v => (int)v).ToArray();

    /// <summary>Offers every row of the batch to the memory (those <paramref name="include"/> accepts, when given; the others are not seen).</summary>
    protected void Store(StreamBatch batch, Func<int, MemoryItem> make, Func<int, bool>? include = null)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            if (include is not null && !include(i))
            {
                continue;
            }

            var row = i;
            Memory!.Offer(() =>
            {
                var item = make(row);
                item.ClipId = batch.ClipIds[row];
                item.Task = batch.Tasks[row];
                return item;
            });
        }
    }

    /// <summary>Offers every row of the batch with its full patches and nothing else (ER's item, as LUMP and MIR store it).</summary>
    protected void StorePatches(StreamBatch batch) =>
        Store(batch, i => new MemoryItem { AudioPatches = Row(batch.Audio, i), VideoPatches = Row(batch.Video, i) });

    /// <summary>Audio patch values per item for full patches.</summary>
    protected long FullPatchFloats => ((long)Config.AudioTokens * Config.AudioPatchDim) + ((long)Config.VideoTokens * Config.VideoPatchDim);

    /// <summary>
    /// Draws the step's replay (as many items as the batch has clips; into <see cref="StepWork.Replay"/>) and returns the batch with
    /// the replayed items' full patches appended, and those patches alone (null when nothing was drawn).
    /// </summary>
    protected (Tensor Audio, Tensor Video, (Tensor Audio, Tensor Video)? Replayed) BatchWithReplay(StepWork work)
    {
        var batch = work.Batch;
        var replay = work.Replay = Memory!.Sample(batch.Count);
        if (replay.Count == 0)
        {
            return (batch.Audio, batch.Video, null);
        }

        var (ra, rv) = StackPatches(replay);
        return (torch.cat([batch.Audio, ra]), torch.cat([batch.Video, rv]), (ra, rv));
    }

    /// <summary>The DER++ penalty (weighted) of the replayed rows [from, end) against their stored embeddings.</summary>
    protected Func<PretrainOutput, Tensor?> DerPenalty(IReadOnlyList<MemoryItem> replay, int from)
    {
        if (replay.Count == 0)
        {
            return _ => null;
        }

        return EmbeddingPenalty(Stack(replay.Select(r => r.PooledAudio), Config.Dim), Stack(replay.Select(r => r.PooledVideo), Config.Dim), from, Losses.PenaltyWeight);
    }

    /// <summary>
    /// <paramref name="weight"/> x (MSE audio + MSE video) of a forward output's pooled embeddings of rows [from, end) against
    /// <paramref name="targetAudio"/>/<paramref name="targetVideo"/>: DER++'s stored embeddings, CLS-ER's and ESMER's averaged models'.
    /// </summary>
    protected static Func<PretrainOutput, Tensor> EmbeddingPenalty(Tensor targetAudio, Tensor targetVideo, int from, double weight) => output =>
    {
        using var currentA = output.PooledAudio[from..];
        using var currentV = output.PooledVideo[from..];
        using var penalty = Losses.DerPenalty(targetAudio, targetVideo, currentA, currentV);
        return penalty.Times(weight);
    };
}
