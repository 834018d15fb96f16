using Stella.Continual.Memory;
using Stella.Model;
using Stella.Model.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Continual.Learning;

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
            audio = Mix(audio, pa, lambda);
            video = Mix(video, pv, lambda);
        }

        var r = Trainer.Train(audio, AllAudio(b), video, AllVideo(b));
        return new LearnerStep(r.MaeAudio, r.MaeVideo, r.Contrastive, 0, float.NaN, replay.Count);
    }

    // lambda x current + (1 - lambda) x partner (the temporaries die at once; the mix lives in the step's scope).
    private static Tensor Mix(Tensor current, Tensor partner, float lambda)
    {
        using var own = current.Times(lambda);
        using var other = partner.Times(1 - lambda);
        return own.Plus(other);
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
