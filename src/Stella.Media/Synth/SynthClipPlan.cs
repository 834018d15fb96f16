namespace Stella.Media.Synth;

/// <summary>Everything needed to render one clip; derived from the dataset seed and the clip index alone.</summary>
/// <param name="ClipId">Clip id, e.g. <c>t1_c04_train_007</c>.</param>
/// <param name="Class">The class (object type bound to a sound).</param>
/// <param name="Task">Task index; -1 for a warm-up clip.</param>
/// <param name="Split">"train", "retrieval" or "base" (warm-up).</param>
/// <param name="Seed">Seed of this clip's random choices.</param>
/// <param name="Objects">On-screen objects; index 0 is the sound source.</param>
/// <param name="Sounding">Intervals [start, end) in seconds where the source sounds.</param>
public sealed record SynthClipPlan(
    string ClipId,
    SynthClass Class,
    int Task,
    string Split,
    int Seed,
    IReadOnlyList<SynthObject> Objects,
    IReadOnlyList<(double Start, double End)> Sounding);
