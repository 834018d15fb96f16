using System.Runtime.InteropServices;

namespace Stella.Continual.Memory;

/// <summary>
/// The Parquet row of a <see cref="MemoryItem"/>: every array is a binary column of little-endian float32 (indices: int32) values.
/// Binary, not a Parquet list, because Parquet.Net reads lists of 10^5 floats per row impractically slowly (measured: 8 rows of
/// 262,144 floats did not finish in 300 s, against 0.16 s as binary). Any reader gets the values with e.g. numpy.frombuffer(v, '&lt;f4').
/// </summary>
internal sealed class MemoryRow
{
    public int Slot { get; set; }

    public string ClipId { get; set; } = string.Empty;

    public int Task { get; set; }

    public byte[] AudioPatches { get; set; } = [];

    public byte[] VideoPatches { get; set; } = [];

    public byte[] AudioIndices { get; set; } = [];

    public byte[] VideoIndices { get; set; } = [];

    public byte[] PooledAudio { get; set; } = [];

    public byte[] PooledVideo { get; set; } = [];

    public byte[] QueryAudio { get; set; } = [];

    public byte[] QueryVideo { get; set; } = [];

    public byte[] ImportanceAudio { get; set; } = [];

    public byte[] ImportanceVideo { get; set; } = [];

    public byte[] CorrelationAudio { get; set; } = [];

    public byte[] CorrelationVideo { get; set; } = [];

    public static MemoryRow From(MemoryItem i) => new()
    {
        Slot = i.Slot, ClipId = i.ClipId, Task = i.Task,
        AudioPatches = Bytes(i.AudioPatches), VideoPatches = Bytes(i.VideoPatches),
        AudioIndices = Bytes(i.AudioIndices), VideoIndices = Bytes(i.VideoIndices),
        PooledAudio = Bytes(i.PooledAudio), PooledVideo = Bytes(i.PooledVideo),
        QueryAudio = Bytes(i.QueryAudio), QueryVideo = Bytes(i.QueryVideo),
        ImportanceAudio = Bytes(i.ImportanceAudio), ImportanceVideo = Bytes(i.ImportanceVideo),
        CorrelationAudio = Bytes(i.CorrelationAudio), CorrelationVideo = Bytes(i.CorrelationVideo),
    };

    public MemoryItem ToItem() => new()
    {
        Slot = Slot, ClipId = ClipId, Task = Task,
        AudioPatches = Floats(AudioPatches), VideoPatches = Floats(VideoPatches),
        AudioIndices = Ints(AudioIndices), VideoIndices = Ints(VideoIndices),
        PooledAudio = Floats(PooledAudio), PooledVideo = Floats(PooledVideo),
        QueryAudio = Floats(QueryAudio), QueryVideo = Floats(QueryVideo),
        ImportanceAudio = Floats(ImportanceAudio), ImportanceVideo = Floats(ImportanceVideo),
        CorrelationAudio = Floats(CorrelationAudio), CorrelationVideo = Floats(CorrelationVideo),
    };

    // .NET on x86-64 and ARM64 is little-endian, the layout the files promise.
    private static byte[] Bytes<T>(T[] values) where T : unmanaged => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static float[] Floats(byte[] bytes) => MemoryMarshal.Cast<byte, float>(bytes).ToArray();

    private static int[] Ints(byte[] bytes) => MemoryMarshal.Cast<byte, int>(bytes).ToArray();
}
