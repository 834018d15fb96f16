using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Stella.Core.Arrays;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Stella.Coreset;

/// <summary>
/// A float16 or float32 .npy matrix [N, D] read with positioned reads, a block of rows at a time, so nothing holds N x D in RAM.
/// Not a memory map: pages of a mapped file count in the process' resident set, so a 27 GB file read through a map shows a peak
/// RSS near the machine's memory although none of it is needed twice; positioned reads leave caching to the page cache. Rows are L2-normalized as they are read (COINCIDE works on unit vectors); a
/// row with a NaN or infinity is an error that names the row.
/// </summary>
public sealed partial class FeatureMatrix : IRowSource, IDisposable
{
    private bool _adviseFailed;

    private readonly SafeFileHandle _file;
    private readonly long _offset;
    private readonly bool _half;

    private FeatureMatrix(string path, SafeFileHandle file, long offset, bool half, int rows, int dims)
    {
        Path = path;
        _file = file;
        _offset = offset;
        _half = half;
        Rows = rows;
        Dims = dims;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>N.</summary>
    public int Rows { get; }

    /// <summary>D.</summary>
    public int Dims { get; }

    /// <summary>Opens <paramref name="path"/>; wrong dtype, shape or size are errors that say what was found.</summary>
    public static FeatureMatrix Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"feature file not found: {path}");
        }

        NpyHeader header;
        using (var stream = File.OpenRead(path))
        {
            header = Npy.ReadHeader(stream, path);
        }

        var half = header.Descr switch
        {
            "<f2" => true,
            "<f4" => false,
            _ => throw new InvalidDataException($"{path}: dtype '{header.Descr}', expected float16 (<f2) or float32 (<f4) features"),
        };
        if (header.Shape.Length != 2 || header.Shape[0] < 1 || header.Shape[1] < 1)
        {
            throw new InvalidDataException($"{path}: shape ({string.Join(", ", header.Shape)}), expected a matrix [N, D] with N, D >= 1");
        }

        var bytes = header.Shape[0] * header.Shape[1] * (half ? 2 : 4);
        var length = new FileInfo(path).Length;
        if (length < header.DataOffset + bytes)
        {
            throw new InvalidDataException($"{path}: {length} bytes, the header promises {header.DataOffset + bytes} (truncated file?)");
        }

        // Not FileOptions.RandomAccess: that turns the kernel's read-ahead off, and block passes read the file in order.
        var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return new FeatureMatrix(path, file, header.DataOffset, half, checked((int)header.Shape[0]), checked((int)header.Shape[1]));
    }

    /// <summary>Bytes per value: 2 (float16) or 4 (float32).</summary>
    public int ValueBytes => _half ? 2 : 4;

    /// <summary>Reads rows [start, start + count) into <paramref name="destination"/> (count x D), L2-normalized.</summary>
    public void ReadRows(int start, int count, Span<float> destination)
    {
        if (start < 0 || count < 0 || start + count > Rows)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"rows [{start}, {start + count}) outside [0, {Rows})");
        }

        var rowBytes = Dims * ValueBytes;
        var total = (long)count * rowBytes;
        var position = _offset + ((long)start * rowBytes);
        if (!_half)
        {
            ReadExactly(MemoryMarshal.AsBytes(destination[..(count * Dims)]), position);
            PrepareRows(null, destination, count, start);
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(checked((int)total));
        try
        {
            ReadExactly(buffer.AsSpan(0, (int)total), position);
            PrepareRows(buffer, destination, count, start);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads the listed rows (any order) into <paramref name="destination"/>, L2-normalized.</summary>
    public void ReadRows(IReadOnlyList<int> rows, Span<float> destination)
    {
        // A cluster's rows lie anywhere in the file. When the file is larger than the page cache each row read waits on the disk;
        // announcing them all first lets the kernel read them ahead concurrently (300 LLaVA-scale clusters from a cold cache:
        // 7,100 rows/s without, 15,300 with; from a warm cache it costs about a fifth: 20,000 against 16,000).
        if (rows.Count > 1)
        {
            var rowBytes = (long)Dims * ValueBytes;
            foreach (var row in rows)
            {
                Advise(_offset + (row * rowBytes), rowBytes);
            }
        }

        if ((long)rows.Count * Dims < 1 << 16)
        {
            for (var i = 0; i < rows.Count; i++)
            {
                ReadRows(rows[i], 1, destination.Slice(i * Dims, Dims));
            }

            return;
        }

        ReadRowsInParallel(rows, destination);
    }

    /// <summary>The rows read and converted on all cores; a bad row's error is the one of the earliest bad row in the list.</summary>
    private unsafe void ReadRowsInParallel(IReadOnlyList<int> rows, Span<float> destination)
    {
        var dims = Dims;
        (int Index, Exception Error)? first = null;
        var gate = new object();
        fixed (float* outPtr = destination)
        {
            var output = (nint)outPtr;
            Parallel.For(0, rows.Count, i =>
            {
                try
                {
                    ReadRows(rows[i], 1, new Span<float>((float*)output + ((long)i * dims), dims));
                }
                catch (Exception e) when (e is InvalidDataException or IOException)
                {
                    lock (gate)
                    {
                        if (first is null || i < first.Value.Index)
                        {
                            first = (i, e);
                        }
                    }
                }
            });
        }

        if (first is { } bad)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(bad.Error);
        }
    }

    /// <summary>
    /// Converts (float16 <paramref name="halves"/>, when given) and normalizes <paramref name="count"/> rows in place, rows in
    /// parallel: they are independent, and the float16 conversion was the widest files' main cost (1.4 to 3 ns a value as a scalar loop).
    /// </summary>
    private unsafe void PrepareRows(byte[]? halves, Span<float> destination, int count, int start)
    {
        var dims = Dims;
        var bad = int.MaxValue;
        fixed (float* outPtr = destination)
        fixed (byte* inPtr = halves)
        {
            var output = (nint)outPtr;
            var input = (nint)inPtr;
            void Row(int r)
            {
                var row = new Span<float>((float*)output + ((long)r * dims), dims);
                if (input != 0)
                {
                    // Vectorized: 0.24-0.36 ns a value against 1.9 ns for a (float) cast per value (20 M values, one core).
                    TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>((Half*)input + ((long)r * dims), dims), row);
                }

                if (!Normalize(row))
                {
                    InterlockedMin(ref bad, start + r);
                }
            }

            if ((long)count * dims < 1 << 16)
            {
                for (var r = 0; r < count; r++)
                {
                    Row(r);
                }
            }
            else
            {
                Parallel.For(0, count, Row);
            }
        }

        if (bad != int.MaxValue)
        {
            throw new InvalidDataException($"{Path}: row {bad} holds NaN or infinity; clean or drop it before selecting a coreset");
        }
    }

    private static void InterlockedMin(ref int target, int value)
    {
        int current;
        while (value < (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    /// <summary>L2-normalizes <paramref name="row"/> in place; false when it holds NaN or infinity.</summary>
    private static bool Normalize(Span<float> row)
    {
        var acc = Vector<float>.Zero;
        var vectors = MemoryMarshal.Cast<float, Vector<float>>(row);
        foreach (var v in vectors)
        {
            acc += v * v;
        }

        var sum = (double)Vector.Sum(acc);
        for (var j = vectors.Length * Vector<float>.Count; j < row.Length; j++)
        {
            sum += row[j] * (double)row[j];
        }

        if (!double.IsFinite(sum))
        {
            // Either a NaN/infinity, or finite values whose float squares overflow: decide, then sum in double.
            sum = 0;
            foreach (var v in row)
            {
                if (!float.IsFinite(v))
                {
                    return false;
                }

                sum += v * (double)v;
            }
        }

        // An all-zero row (the reference writes zeros for samples without tokens) stays zero: it is nobody's neighbour.
        if (sum > 0)
        {
            var scale = (float)(1 / Math.Sqrt(sum));
            var scaled = MemoryMarshal.Cast<float, Vector<float>>(row);
            for (var j = 0; j < scaled.Length; j++)
            {
                scaled[j] *= scale;
            }

            for (var j = scaled.Length * Vector<float>.Count; j < row.Length; j++)
            {
                row[j] *= scale;
            }
        }

        return true;
    }

    private void Advise(long offset, long length)
    {
        if (!OperatingSystem.IsLinux() || _adviseFailed)
        {
            return;
        }

        try
        {
            _ = PosixFadvise((int)_file.DangerousGetHandle(), offset, length, 3 /* POSIX_FADV_WILLNEED */);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _adviseFailed = true;
        }
    }

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int PosixFadvise(int fd, long offset, long length, int advice);

    private void ReadExactly(Span<byte> target, long position)
    {
        while (target.Length > 0)
        {
            var read = RandomAccess.Read(_file, target, position);
            if (read <= 0)
            {
                throw new EndOfStreamException($"{Path}: file ends at byte {position}, inside the feature matrix");
            }

            target = target[read..];
            position += read;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _file.Dispose();
    }
}
