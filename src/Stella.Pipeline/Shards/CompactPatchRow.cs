using System.Runtime.InteropServices;

namespace Stella.Pipeline.Shards;

/// <summary>
/// One row of a compact patch shard (schema version 2): a clip's media for one frame window as the graph holds them just before
/// the patch stage, which runs at read time (<see cref="Graph.PatchStage.Patches"/>): the frames as decoded 8-bit RGB (a quarter of
/// their float32 patches' bytes) and the normalized fbank, float32 or float16 (the file's metadata says which). numpy:
/// <c>numpy.frombuffer(Frames, 'u1').reshape(FrameCount, FrameSize, FrameSize, 3)</c>, <c>numpy.frombuffer(Fbank, '&lt;f4')</c>
/// (or <c>'&lt;f2'</c>).reshape(audio frames, mel bins).
/// </summary>
public sealed class CompactPatchRow : ShardRow
{
    /// <summary>Frames in <see cref="Frames"/>.</summary>
    public int FrameCount { get; set; }

    /// <summary>Frame width and height in pixels.</summary>
    public int FrameSize { get; set; }

    /// <summary>True when <see cref="Frames"/> holds every frame of the clip (from its start, at 8 fps) for a fresh window each epoch.</summary>
    public bool Whole { get; set; }

    /// <summary>The window's frames, uint8 RGB [frames, size, size, 3].</summary>
    public byte[] Frames { get; set; } = [];

    /// <summary>The normalized, padded or cut fbank [audio frames * mel bins], little-endian float32 or float16.</summary>
    public byte[] Fbank { get; set; } = [];

    /// <summary>An fbank as the column's bytes, float32 or (<paramref name="half"/>) float16, little-endian.</summary>
    public static byte[] FbankBytes(float[] fbank, bool half)
    {
        if (!half)
        {
            return PatchRow.Bytes(fbank);
        }

        var values = new Half[fbank.Length];
        for (var i = 0; i < fbank.Length; i++)
        {
            values[i] = (Half)fbank[i];
        }

        return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
    }

    /// <summary>The column's bytes as the fbank's float32 values.</summary>
    public static float[] FbankValues(byte[] bytes, bool half)
    {
        if (!half)
        {
            return PatchRow.Floats(bytes);
        }

        var values = MemoryMarshal.Cast<byte, Half>(bytes);
        var fbank = new float[values.Length];
        for (var i = 0; i < fbank.Length; i++)
        {
            fbank[i] = (float)values[i];
        }

        return fbank;
    }
}
