using Stella.Continual.Learning;
using Stella.Model.Config;
using static TorchSharp.torch;

namespace Stella.Pipeline.Graph;

/// <summary>Stage 4: the batch's patches as the learner's tensors ([B, M, P*P] audio, [B, N, 3*P*P] video) on the model's device.</summary>
public sealed class BatchStage(ModelConfig model, Device device)
{
    /// <summary>The stage's name in quarantine.csv.</summary>
    public const string Name = "batch";

    /// <summary>Builds the step's tensors (owned by the step).</summary>
    public void Run(TrainingStep step)
    {
        var outcomes = step.Clips.Select(c => c.Outcome!).ToList();
        var (audio, video) = ClipTensors.Stack(outcomes, model, device);
        step.Work = new StepWork(new StreamBatch(audio, video, outcomes.Select(o => o.Clip.ClipId).ToList(), outcomes.Select(o => o.Clip.Task).ToList()), ownsBatch: true);
    }
}
