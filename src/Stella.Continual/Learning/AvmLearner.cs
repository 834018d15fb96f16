using Stella.Model;

namespace Stella.Continual.Learning;

/// <summary>
/// The AVM alone, backbone frozen: the authors' <c>finetune_submodule</c> warm-up of the audio-video matching module (reference
/// section 10). Each step encodes the batch without a gradient and trains only the AVM on half matched, half deranged pairs (BCE),
/// as STELLA's own AVM step does. On one stream shuffled across tasks (i.i.d.), like Multitask; no memory.
/// </summary>
public sealed class AvmLearner(ModelTrainer trainer, LearnerOptions options) : Learner("avm-only", trainer, options, 0)
{
    /// <inheritdoc />
    public override bool NeedsJointStream => true;

    /// <inheritdoc />
    protected override LearnerStep TrainCore(StepWork work)
    {
        // The scoring pass runs under no_grad: the backbone gets no gradient, and its optimizer never steps here.
        work.Scores = work.Own(Trainer.Score(work.Batch.Audio, work.Batch.Video, null, out var encoding));
        work.Encoding = work.Own(encoding);
        var avm = Trainer.AvmStep(work.Encoding);
        return new LearnerStep(float.NaN, float.NaN, float.NaN, 0, avm, 0) { AvmAccuracy = Trainer.LastAvmAccuracy };
    }
}
