namespace Stella.Core.Manifests;

/// <summary>Which part of a dataset a clip belongs to.</summary>
public enum ClipSplit
{
    /// <summary>Streamed to the learner.</summary>
    Train,

    /// <summary>Held out for zero-shot retrieval after each task (the thesis' 5 clips per class).</summary>
    Retrieval,

    /// <summary>Held out test clips that are not in the retrieval set.</summary>
    Test,
}
