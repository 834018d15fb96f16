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

    /// <summary>
    /// Warm-up clips of classes no task uses (the authors' AudioSet-20K plus VGGSound's unused classes): <c>stella pretrain</c>
    /// trains on them i.i.d. before the continual tasks; the stream never sees them. Their task is -1 (written "-").
    /// </summary>
    Base,
}
