using System.Runtime.InteropServices;

namespace Stella.Pipeline.Shards;

/// <summary>
/// One row of a patch shard: a clip's model inputs for one frame window. Patch arrays are binary columns of little-endian float32
/// (as in the memory shards: Parquet.Net reads lists of 10^5 floats per row impractically slowly); numpy reads them with
/// numpy.frombuffer(v, '&lt;f4').reshape(tokens, patch_dim).
/// </summary>
public sealed class PatchRow
{
    /// <summary>Clip id (unique within the manifest).</summary>
    public string ClipId { get; set; } = string.Empty;

    /// <summary>Task index.</summary>
    public int Task { get; set; }

    /// <summary>Class label.</summary>
    public string Label { get; set; } = string.Empty;

    /// <summary>Split: Train, Retrieval or Test.</summary>
    public string Split { get; set; } = string.Empty;

    /// <summary>Frame window: "train" (seeded random start) or "eval" (centred).</summary>
    public string Window { get; set; } = string.Empty;

    /// <summary>Position of the clip in its task's training list (the window seed's input); -1 for eval windows.</summary>
    public int Index { get; set; }

    /// <summary>The clip's row in the source manifest.</summary>
    public int Row { get; set; }

    /// <summary>Start of the frame window (s).</summary>
    public double VideoStart { get; set; }

    /// <summary>Audio patches [audio tokens, audio patch dim], float32 bytes.</summary>
    public byte[] AudioPatches { get; set; } = [];

    /// <summary>Video patches [video tokens, video patch dim], float32 bytes.</summary>
    public byte[] VideoPatches { get; set; } = [];

    /// <summary>The built-in benchmark's ground truth of the clip (JSON, as in ground_truth.jsonl), empty for real data.</summary>
    public string GroundTruth { get; set; } = string.Empty;

    /// <summary>float32 values as the column's bytes (.NET on x86-64 and ARM64 is little-endian, the layout the files promise).</summary>
    public static byte[] Bytes(float[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>A column's bytes as float32 values.</summary>
    public static float[] Floats(byte[] bytes) => MemoryMarshal.Cast<byte, float>(bytes).ToArray();
}
