namespace Stella.Coreset;

/// <summary>Unit rows [N, D] read a block (or a list) at a time: a feature file on disk, or a projection of one held in memory.</summary>
public interface IRowSource
{
    /// <summary>N.</summary>
    int Rows { get; }

    /// <summary>D.</summary>
    int Dims { get; }

    /// <summary>Reads rows [start, start + count) into <paramref name="destination"/> (count x D), L2-normalized.</summary>
    void ReadRows(int start, int count, Span<float> destination);

    /// <summary>Reads the listed rows (any order) into <paramref name="destination"/>, L2-normalized.</summary>
    void ReadRows(IReadOnlyList<int> rows, Span<float> destination);
}

/// <summary>Unit rows held in memory (for example the random projection of a feature file).</summary>
public sealed class DenseRows : IRowSource
{
    private readonly float[] _data;

    /// <summary>Wraps <paramref name="data"/> [rows * dims]; the rows must already be unit (or zero).</summary>
    public DenseRows(float[] data, int rows, int dims)
    {
        if ((long)rows * dims != data.LongLength)
        {
            throw new ArgumentException($"{data.LongLength} values are not {rows} x {dims}");
        }

        _data = data;
        Rows = rows;
        Dims = dims;
    }

    /// <inheritdoc />
    public int Rows { get; }

    /// <inheritdoc />
    public int Dims { get; }

    /// <inheritdoc />
    public void ReadRows(int start, int count, Span<float> destination) =>
        _data.AsSpan(start * Dims, count * Dims).CopyTo(destination);

    /// <inheritdoc />
    public void ReadRows(IReadOnlyList<int> rows, Span<float> destination)
    {
        for (var i = 0; i < rows.Count; i++)
        {
            _data.AsSpan(rows[i] * Dims, Dims).CopyTo(destination.Slice(i * Dims, Dims));
        }
    }
}

/// <summary>Streams a row source through torch a block at a time (k-means passes, the projection, the full-space centroids).</summary>
public static class RowBlocks
{
    /// <summary>
    /// Calls <paramref name="body"/> with each block's first row and its rows as a tensor [n, D] on <paramref name="device"/>; the
    /// tensor and whatever the body creates are disposed after the call. One buffer serves every block.
    /// </summary>
    public static void Each(IRowSource x, int blockRows, TorchSharp.torch.Device device, Action<int, TorchSharp.torch.Tensor> body)
    {
        var block = new float[Math.Min(blockRows, x.Rows) * x.Dims];
        for (var start = 0; start < x.Rows; start += blockRows)
        {
            using var scope = TorchSharp.torch.NewDisposeScope();
            var n = Math.Min(blockRows, x.Rows - start);
            x.ReadRows(start, n, block.AsSpan(0, n * x.Dims));
            var rows = n * x.Dims == block.Length ? TorchSharp.torch.tensor(block, [n, x.Dims]) : TorchSharp.torch.tensor(block.AsSpan(0, n * x.Dims).ToArray(), [n, x.Dims]);
            body(start, rows.to(device));
        }
    }
}
