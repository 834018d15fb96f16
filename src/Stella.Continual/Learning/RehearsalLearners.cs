using Stella.Continual.Memory;
using Stella.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Continual.Learning;

/// <summary>Finetune: trains on the stream alone (the lower bound); no memory.</summary>
public class FinetuneLearner(ModelTrainer trainer, LearnerOptions options, string name = "finetune") : Learner(name, trainer, options, 0)
{
    /// <inheritdoc />
    protected override LearnerStep TrainCore(StepWork work)
    {
        var batch = work.Batch;
        var r = Trainer.Train(batch.Audio, AllAudio(batch.Count), batch.Video, AllVideo(batch.Count));
        return new LearnerStep(r.MaeAudio, r.MaeVideo, r.Contrastive, 0, float.NaN, 0);
    }
}

/// <summary>Multitask: Finetune on a stream shuffled across all tasks (joint training, the upper bound).</summary>
public sealed class MultitaskLearner(ModelTrainer trainer, LearnerOptions options) : FinetuneLearner(trainer, options, "multitask")
{
    /// <inheritdoc />
    public override bool NeedsJointStream => true;
}

/// <summary>ER, and DER++ when <paramref name="penalty"/> is set: replay items join the batch; DER++ also keeps their embeddings close.</summary>
public sealed class ExperienceReplayLearner(ModelTrainer trainer, LearnerOptions options, bool penalty)
    : Learner(penalty ? "der++" : "er", trainer, options, ItemBytesFor(trainer, penalty))
{
    /// <summary>Payload of one item: full patches (+ pooled embeddings for DER++).</summary>
    public static long ItemBytesFor(ModelTrainer trainer, bool penalty)
    {
        var c = trainer.Config;
        return 4L * (((long)c.AudioTokens * c.AudioPatchDim) + ((long)c.VideoTokens * c.VideoPatchDim) + (penalty ? 2L * c.Dim : 0));
    }

    /// <inheritdoc />
    protected override LearnerStep TrainCore(StepWork work)
    {
        var batch = work.Batch;
        var b = batch.Count;
        var replay = work.Replay = Memory!.Sample(b);
        var audio = batch.Audio;
        var video = batch.Video;
        if (replay.Count > 0)
        {
            var (ra, rv) = StackPatches(replay);
            audio = torch.cat([audio, ra]);
            video = torch.cat([video, rv]);
        }

        var rows = audio.shape[0];
        var r = work.Trained = work.Own(Trainer.Train(audio, AllAudio(rows), video, AllVideo(rows), penalty ? DerPenalty(replay, b) : null));
        return new LearnerStep(r.MaeAudio, r.MaeVideo, r.Contrastive, r.Extra, float.NaN, replay.Count);
    }

    /// <inheritdoc />
    protected override void RememberCore(StepWork work)
    {
        var (batch, r) = (work.Batch, work.Trained!);
        Store(batch, i => new MemoryItem
        {
            AudioPatches = Row(batch.Audio, i),
            VideoPatches = Row(batch.Video, i),
            PooledAudio = penalty ? Row(r.PooledAudio, i) : [],
            PooledVideo = penalty ? Row(r.PooledVideo, i) : [],
        });
    }
}

/// <summary>
/// LUMP (Madaan et al. 2022): mixup of the current batch with memory items, lambda ~ Beta(0.5, 0.5); trains on the mixed batch only.
/// </summary>
public sealed class LumpLearner(ModelTrainer trainer, LearnerOptions options)
    : Learner("lump", trainer, options, ExperienceReplayLearner.ItemBytesFor(trainer, penalty: false))
{
    /// <inheritdoc />
    protected override LearnerStep TrainCore(StepWork work)
    {
        var batch = work.Batch;
        var b = batch.Count;
        var replay = work.Replay = Memory!.Sample(b);
        var audio = batch.Audio;
        var video = batch.Video;
        if (replay.Count > 0)
        {
            // Fewer items than the batch early on: reuse them in turn.
            var partners = Enumerable.Range(0, b).Select(i => replay[i % replay.Count]).ToList();
            var lambda = (float)BetaSample(Options.LumpAlpha);
            var (pa, pv) = StackPatches(partners);
            audio = (lambda * audio) + ((1 - lambda) * pa);
            video = (lambda * video) + ((1 - lambda) * pv);
        }

        var r = Trainer.Train(audio, AllAudio(b), video, AllVideo(b));
        return new LearnerStep(r.MaeAudio, r.MaeVideo, r.Contrastive, 0, float.NaN, replay.Count);
    }

    /// <inheritdoc />
    protected override void RememberCore(StepWork work) => StorePatches(work.Batch);

    // Beta(a, a) by inversion for the arcsine case a = 0.5 (sin^2 of a uniform angle); other a by Johnk's method.
    private double BetaSample(double a)
    {
        if (Math.Abs(a - 0.5) < 1e-12)
        {
            var s = Math.Sin(Math.PI * Memory!.NextDouble() / 2);
            return s * s;
        }

        while (true)
        {
            var x = Math.Pow(Memory!.NextDouble(), 1 / a);
            var y = Math.Pow(Memory.NextDouble(), 1 / a);
            if (x + y <= 1 && x + y > 0)
            {
                return x / (x + y);
            }
        }
    }
}

/// <summary>
/// MIR (Aljundi et al. 2019): draws search-factor x B candidates, takes a virtual SGD step on the current batch, and replays the B
/// candidates whose loss rises most.
/// </summary>
public sealed class MirLearner(ModelTrainer trainer, LearnerOptions options)
    : Learner("mir", trainer, options, ExperienceReplayLearner.ItemBytesFor(trainer, penalty: false))
{
    /// <inheritdoc />
    protected override LearnerStep TrainCore(StepWork work)
    {
        var batch = work.Batch;
        var b = batch.Count;
        var candidates = Memory!.Sample(b * Options.MirSearchFactor);
        var audio = batch.Audio;
        var video = batch.Video;
        var replayed = 0;
        if (candidates.Count > 0)
        {
            var (ca, cv) = StackPatches(candidates);
            var (ia, iv) = (AllAudio(candidates.Count), AllVideo(candidates.Count));
            // The same masks before and after the virtual step, so the difference is the step's effect alone.
            var state = Trainer.RandomState;
            var before = Trainer.RowLosses(ca, ia, cv, iv);
            Tensor after;
            using (Trainer.VirtualStep(batch.Audio, AllAudio(b), batch.Video, AllVideo(b), Options.MirVirtualLearningRate))
            {
                Trainer.SetRandomState(state);
                after = Trainer.RowLosses(ca, ia, cv, iv);
            }

            var chosen = (after - before).topk(Math.Min(b, candidates.Count)).indexes;
            audio = torch.cat([audio, ca.index_select(0, chosen)]);
            video = torch.cat([video, cv.index_select(0, chosen)]);
            replayed = (int)chosen.shape[0];
        }

        var rows = audio.shape[0];
        var r = Trainer.Train(audio, AllAudio(rows), video, AllVideo(rows));
        return new LearnerStep(r.MaeAudio, r.MaeVideo, r.Contrastive, 0, float.NaN, replayed);
    }

    /// <inheritdoc />
    protected override void RememberCore(StepWork work) => StorePatches(work.Batch);
}
