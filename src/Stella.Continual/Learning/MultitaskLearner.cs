using Stella.Continual.Memory;
using Stella.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Continual.Learning;

/// <summary>Multitask: Finetune on a stream shuffled across all tasks (joint training, the upper bound).</summary>
public sealed class MultitaskLearner(ModelTrainer trainer, LearnerOptions options) : FinetuneLearner(trainer, options, "multitask")
{
    /// <inheritdoc />
    public override bool NeedsJointStream => true;
}
