namespace Stella.Pipeline;

/// <summary>
/// What a run has measured so far. It is written into every checkpoint (run_state.json), so a resumed run continues from exactly
/// the state its checkpoint's weights, memory and stream position belong to and reports the whole run, not its last part.
/// </summary>
public sealed class RunState
{
    /// <summary>Evaluation after each task, in order.</summary>
    public List<Evaluation> Evaluations { get; set; } = [];

    /// <summary>Training steps.</summary>
    public long Steps { get; set; }

    /// <summary>Clips trained on.</summary>
    public long TrainClips { get; set; }

    /// <summary>Time inside learner steps.</summary>
    public double StepMilliseconds { get; set; }

    /// <summary>Wall time of the training phases (up to the last step counted).</summary>
    public double TrainSeconds { get; set; }

    /// <summary>The largest peak resident set of the processes that ran this run so far (MB; null where unknown).</summary>
    public double? PeakRssMb { get; set; }

    /// <summary>Folds the current process' peak RSS in.</summary>
    public void NotePeakRss()
    {
        if (Stella.Core.Diagnostics.ProcessMemory.PeakRssMb() is { } now)
        {
            PeakRssMb = Math.Max(PeakRssMb ?? 0, now);
        }
    }
}
