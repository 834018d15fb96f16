namespace Stella.Core.Manifests;

/// <summary>One clip of a task-ordered manifest.</summary>
/// <param name="ClipId">Unique id of the clip within its manifest.</param>
/// <param name="RelativePath">Path of the media file relative to the data root.</param>
/// <param name="Label">Class label (display name).</param>
/// <param name="Task">Zero-based task index in training order; only the evaluator may use it.</param>
/// <param name="Split">Train, retrieval or test.</param>
/// <param name="StartSeconds">Offset of the clip inside its source file (0 for whole files).</param>
/// <param name="Row">1-based row of the manifest this record came from, for error messages.</param>
/// <param name="AudioPath">The authors' preprocessed layout: the clip's audio file (MP3 or WAV) relative to the data root, while
/// <paramref name="RelativePath"/> is its folder of JPEG frames; null for a media file with both streams (MP4).</param>
public sealed record ClipRecord(
    string ClipId,
    string RelativePath,
    string Label,
    int Task,
    ClipSplit Split,
    double StartSeconds = 0,
    int Row = 0,
    string? AudioPath = null);
