namespace Stella.Coreset;

/// <summary>
/// Unit rows [N, D] read a block (or a list) at a time: a feature file on disk, or a projection of one held in memory.
/// <see cref="RowBlocks.Each"/> calls <see cref="ReadRows(int, int, Span{float})"/> on a thread-pool thread while its body runs, so
/// a source must allow that read beside whatever the body does, and must not create torch tensors (one made outside a dispose
/// scope is left to the finalizer).
/// </summary>
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
    /// Rows per block so that no block tensor (the rows, or their scores against K centroids) passes 16 MB. glibc serves larger
    /// allocations (over its 32 MB ceiling) with fresh mmap'd pages every time, and faulting them in dominated the LLaVA-scale
    /// clustering: 4,096-row blocks against K = 10,000 took 7.6 s a pass over 65,536 rows (14 s of it in the kernel), 400-row
    /// blocks 2.6 s (0.3 s in the kernel).
    /// </summary>
    public static int Auto(int widest) => Math.Clamp((16 << 20) / (4 * Math.Max(1, widest)), 16, 4096);

    /// <summary>
    /// Calls <paramref name="body"/> with each block's first row and its rows as a tensor [n, D] on <paramref name="device"/>; the
    /// tensor and whatever the body creates are disposed after the call. Two buffers take turns: the next block is read while the
    /// body works on this one, so reading overlaps computing (at LLaVA scale the projection reads 27 GB at about 300 MB/s from disk
    /// and multiplies 7e12 flops; measured there 68 s and 94 s in two runs, 94-113 s before, the page cache's state differing).
    /// </summary>
    public static void Each(IRowSource x, int blockRows, TorchSharp.torch.Device device, Action<int, TorchSharp.torch.Tensor> body)
    {
        var size = Math.Min(blockRows, x.Rows);
        using var current = TorchSharp.torch.empty(size, x.Dims);
        using var next = x.Rows > blockRows ? TorchSharp.torch.empty(size, x.Dims) : null;
        var buffers = new[] { current, next ?? current };
        int Rows(int start) => Math.Min(blockRows, x.Rows - start);
        void Read(TorchSharp.torch.Tensor buffer, int start) => x.ReadRows(start, Rows(start), Memory(buffer)[..(Rows(start) * x.Dims)]);
        Read(current, 0);
        Task? pending = null;
        try
        {
            for (int start = 0, turn = 0; start < x.Rows; start += blockRows, turn ^= 1)
            {
                // The read of this block (started during the last body) must be complete, and its error is this block's error.
                pending?.GetAwaiter().GetResult();
                pending = null;
                var block = buffers[turn];
                if (start + blockRows < x.Rows)
                {
                    var (buffer, from) = (buffers[turn ^ 1], start + blockRows);
                    pending = Task.Run(() => Read(buffer, from));
                }

                using var scope = TorchSharp.torch.NewDisposeScope();
                var n = Rows(start);
                body(start, (n == block.shape[0] ? block.alias() : block.narrow(0, 0, n)).to(device));
            }
        }
        finally
        {
            // A body that throws leaves a read in flight into a buffer about to be freed: wait for it (its own error no longer matters).
            if (pending is not null)
            {
                try
                {
                    pending.Wait();
                }
                catch (AggregateException)
                {
                }
            }
        }
    }

    /// <summary>
    /// The memory of a contiguous float32 CPU tensor as a span, so rows are read straight into it: TorchSharp's element-wise
    /// accessor copy ran at about 11 ns a value, which made a cluster's Gram matrix cost 15 ms of copying at D = 20,480.
    /// </summary>
    public static Span<float> Memory(TorchSharp.torch.Tensor tensor)
    {
        if (tensor.dtype != TorchSharp.torch.ScalarType.Float32 || tensor.device_type != TorchSharp.DeviceType.CPU || !tensor.is_contiguous())
        {
            throw new ArgumentException("expected a contiguous float32 CPU tensor");
        }

        // Tensor.bytes is a span over the tensor's own storage (no copy).
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tensor.bytes);
    }

    /// <summary>Row indices as an int64 tensor (what index_select, index_add_ and gather take).</summary>
    public static TorchSharp.torch.Tensor Indices(ReadOnlySpan<int> values, TorchSharp.torch.Device device)
    {
        var wide = new long[values.Length];
        for (var i = 0; i < wide.Length; i++)
        {
            wide[i] = values[i];
        }

        return TorchSharp.torch.tensor(wide, device: device);
    }

    /// <summary>Each row's inner product with its assigned centroid, and the assignments as an index tensor.</summary>
    public static (TorchSharp.torch.Tensor Assigned, TorchSharp.torch.Tensor Similarity) OwnSimilarity(TorchSharp.torch.Tensor rows, TorchSharp.torch.Tensor centroids, ReadOnlySpan<int> assignments)
    {
        var assigned = Indices(assignments, centroids.device);
        return (assigned, (rows * centroids.index_select(0, assigned)).sum(1));
    }
}
