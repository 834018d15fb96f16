namespace Stella.Pipeline;

/// <summary>What a run has measured so far; saved at every task end so a resumed run reports the whole run.</summary>
public sealed class RunState
{
    /// <summary>Evaluation after each task, in order.</summary>
    public List<Evaluation> Evaluations { get; set; } = [];

    /// <summary>Training steps.</summary>
    public long Steps { get; set; }

    /// <summary>Clips trained on.</summary>
    public long TrainClips { get; set; }

    /// <summary>Clips taken from the stream (trained or quarantined).</summary>
    public long ClipsConsumed { get; set; }

    /// <summary>Time inside learner steps.</summary>
    public double StepMilliseconds { get; set; }

    /// <summary>Wall time of the training phases.</summary>
    public double TrainSeconds { get; set; }
}
