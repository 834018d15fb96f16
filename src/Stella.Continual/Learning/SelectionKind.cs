namespace Stella.Continual.Learning;

/// <summary>How a selecting learner chooses patches (thesis Table 2.3); all run on top of DER++.</summary>
public enum SelectionKind
{
    /// <summary>LPIS importance and RCA pruning: STELLA.</summary>
    Stella,

    /// <summary>Uniformly random patches.</summary>
    Random,

    /// <summary>Importance only, no correlation pruning.</summary>
    LpisOnly,

    /// <summary>Correlation pruning only, uniform among the rest.</summary>
    RcaOnly,
}
