using Stella.Model;
using Stella.Model.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Continual.Learning;

/// <summary>
/// GMED (Jin et al. 2021, thesis Sec. 2.8): edits the replayed memory items by gradient before replaying them, towards more
/// interference with the current batch. Per step, as the STELLA authors' version does it: the loss gradient g_before with respect to
/// the replayed patches; a virtual step of the model on the current batch; the gradient g_after at the stepped weights (new random
/// masks); the edit x += alpha (g_after - g_before + beta g_before) (ascent on the loss change plus a little on the loss itself);
/// the weights put back; the edited items written back into their memory slots, then trained on with the batch (plain loss). The
/// authors' edit decay gamma is 1 with an age that never grows, so every edit takes the full stride; so here. Their virtual step is
/// an Adam step from the optimizer's moments; here it is MIR's virtual SGD step (<see cref="LearnerOptions.MirVirtualLearningRate"/>),
/// as in the GMED paper, which builds on MIR.
/// </summary>
public sealed class GmedLearner(ModelTrainer trainer, LearnerOptions options)
    : Learner("gmed", trainer, options, ExperienceReplayLearner.ItemBytesFor(trainer, penalty: false))
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
            var (ra, rv) = StackPatches(replay);
            var n = replay.Count;
            var (beforeA, beforeV) = Trainer.InputGradients(ra, AllAudio(n), rv, AllVideo(n));
            Tensor afterA, afterV;
            using (Trainer.VirtualStep(batch.Audio, AllAudio(b), batch.Video, AllVideo(b), Options.MirVirtualLearningRate))
            {
                (afterA, afterV) = Trainer.InputGradients(ra, AllAudio(n), rv, AllVideo(n));
            }

            var editedA = Edit(ra, beforeA, afterA);
            var editedV = Edit(rv, beforeV, afterV);
            for (var k = 0; k < n; k++)
            {
                replay[k].AudioPatches = Row(editedA, k);
                replay[k].VideoPatches = Row(editedV, k);
            }

            audio = torch.cat([audio, editedA]);
            video = torch.cat([video, editedV]);
        }

        var rows = audio.shape[0];
        var r = Trainer.Train(audio, AllAudio(rows), video, AllVideo(rows));
        return new LearnerStep(r.MaeAudio, r.MaeVideo, r.Contrastive, 0, float.NaN, replay.Count);
    }

    // x + alpha (g_after - g_before + beta g_before); temporaries in the training stage's scope.
    private Tensor Edit(Tensor x, Tensor before, Tensor after)
    {
        using var noGrad = torch.no_grad();
        var change = after.Minus(before).Plus(before.Times(Options.GmedRegularization));
        return x.Plus(change.Times(Options.GmedStride));
    }

    /// <inheritdoc />
    protected override void RememberCore(StepWork work) => StorePatches(work.Batch);
}
