using System.Runtime.InteropServices;

namespace Stella.Pipeline.Shards;

/// <summary>
/// One row of a patch shard: a clip's model inputs for one frame window. Patch arrays are binary columns of little-endian float32
/// (as in the memory shards: Parquet.Net reads lists of 10^5 floats per row impractically slowly); numpy reads them with
/// numpy.frombuffer(v, '&lt;f4').reshape(tokens, patch_dim).
/// </summary>
public sealed class PatchRow : ShardRow
{
    /// <summary>Audio patches [audio tokens, audio patch dim], float32 bytes.</summary>
    public byte[] AudioPatches { get; set; } = [];

    /// <summary>Video patches [video tokens, video patch dim], float32 bytes.</summary>
    public byte[] VideoPatches { get; set; } = [];

    /// <summary>float32 values as the column's bytes (.NET on x86-64 and ARM64 is little-endian, the layout the files promise).</summary>
    public static byte[] Bytes(float[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>A column's bytes as float32 values.</summary>
    public static float[] Floats(byte[] bytes) => MemoryMarshal.Cast<byte, float>(bytes).ToArray();
}
