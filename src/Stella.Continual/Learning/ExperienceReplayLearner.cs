using Stella.Continual.Memory;
using Stella.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Continual.Learning;

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
        var (audio, video, _) = BatchWithReplay(work);
        var rows = audio.shape[0];
        var r = work.Trained = work.Own(Trainer.Train(audio, AllAudio(rows), video, AllVideo(rows), penalty ? DerPenalty(work.Replay, work.Batch.Count) : null));
        return new LearnerStep(r.MaeAudio, r.MaeVideo, r.Contrastive, r.Extra, float.NaN, work.Replay.Count);
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
