using System.Text.Json.Serialization;

namespace Stella.Media.Synth;

/// <summary>Ground truth of one generated clip, one JSON line of <c>ground_truth.jsonl</c>.</summary>
public sealed record SynthGroundTruth
{
    /// <summary>Clip id (matches the manifest).</summary>
    [JsonPropertyName("clip_id")] public required string ClipId { get; init; }

    /// <summary>Class label.</summary>
    [JsonPropertyName("label")] public required string Label { get; init; }

    /// <summary>Global class index.</summary>
    [JsonPropertyName("class_index")] public required int ClassIndex { get; init; }

    /// <summary>Task index.</summary>
    [JsonPropertyName("task")] public required int Task { get; init; }

    /// <summary>Index of the source in <see cref="Objects"/> (always 0: the source is drawn last, on top).</summary>
    [JsonPropertyName("source_object")] public required int SourceObject { get; init; }

    /// <summary>Object type names on screen.</summary>
    [JsonPropertyName("objects")] public required IReadOnlyList<string> Objects { get; init; }

    /// <summary>Frames per second of the video.</summary>
    [JsonPropertyName("fps")] public required int Fps { get; init; }

    /// <summary>Frame size in pixels.</summary>
    [JsonPropertyName("frame_size")] public required int FrameSize { get; init; }

    /// <summary>Source box [x0, y0, x1, y1) in pixels, one per video frame.</summary>
    [JsonPropertyName("source_boxes")] public required IReadOnlyList<int[]> SourceBoxes { get; init; }

    /// <summary>Sounding intervals [start, end) in seconds.</summary>
    [JsonPropertyName("sounding")] public required IReadOnlyList<double[]> Sounding { get; init; }
}
