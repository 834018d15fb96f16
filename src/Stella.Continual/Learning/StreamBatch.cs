using static TorchSharp.torch;

namespace Stella.Continual.Learning;

/// <summary>B current clips as the learner sees them: all their patches, and ids/tasks that only the memory's statistics use.</summary>
/// <param name="Audio">Audio patches [B, M, P*P].</param>
/// <param name="Video">Video patches [B, N, 3*P*P].</param>
/// <param name="ClipIds">Clip ids.</param>
/// <param name="Tasks">Task of each clip (never used to train: learners are task-free).</param>
public sealed record StreamBatch(Tensor Audio, Tensor Video, IReadOnlyList<string> ClipIds, IReadOnlyList<int> Tasks)
{
    /// <summary>Rows.</summary>
    public int Count => ClipIds.Count;
}
