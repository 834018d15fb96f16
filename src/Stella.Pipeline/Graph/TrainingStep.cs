using System.Diagnostics;
using Stella.Continual.Learning;

namespace Stella.Pipeline.Graph;

/// <summary>
/// One batch on its way through the learner's stages (batch, scoring, selection, training sink, memory). A stage that fails marks
/// the step (<see cref="Fail"/>): the later stages pass it on untouched and the memory stage quarantines its clips.
/// </summary>
public sealed class TrainingStep(int task, IReadOnlyList<ClipInFlight> clips) : IDisposable
{
    /// <summary>The task being trained.</summary>
    public int Task { get; } = task;

    /// <summary>The batch's clips, in stream order.</summary>
    public IReadOnlyList<ClipInFlight> Clips { get; } = clips;

    /// <summary>Stream index just past the batch's last clip: where the cursor moves when the step completes.</summary>
    public int End { get; } = clips.Count == 0 ? 0 : clips.Max(c => c.Request.Index) + 1;

    /// <summary>The learner's state of the step (null until the batch stage built its tensors).</summary>
    public StepWork? Work { get; set; }

    /// <summary>Time since the step started (after waiting for the previous one).</summary>
    public Stopwatch Timer { get; } = new();

    /// <summary>The stage that failed and why (null while the step is fine).</summary>
    public (string Stage, Exception Error)? Failure { get; private set; }

    /// <summary>Marks the step failed at <paramref name="stage"/>.</summary>
    public void Fail(string stage, Exception error) => Failure ??= (stage, error);

    /// <inheritdoc />
    public void Dispose() => Work?.Dispose();
}
