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
