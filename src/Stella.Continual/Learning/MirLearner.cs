using Stella.Continual.Memory;
using Stella.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Continual.Learning;

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
