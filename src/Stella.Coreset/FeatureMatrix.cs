using System.IO.MemoryMappedFiles;
using Stella.Core.Arrays;

namespace Stella.Coreset;

/// <summary>
/// A float16 or float32 .npy matrix [N, D] read through a memory map, a block of rows at a time, so nothing holds N x D in RAM:
/// the operating system pages the file in and out. Rows are L2-normalized as they are read (COINCIDE works on unit vectors); a
/// row with a NaN or infinity is an error that names the row.
/// </summary>
public sealed class FeatureMatrix : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly long _offset;
    private readonly bool _half;

    private FeatureMatrix(string path, MemoryMappedFile file, MemoryMappedViewAccessor view, long offset, bool half, int rows, int dims)
    {
        Path = path;
        _file = file;
        _view = view;
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

        var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        return new FeatureMatrix(path, file, view, header.DataOffset, half, checked((int)header.Shape[0]), checked((int)header.Shape[1]));
    }

    /// <summary>Reads rows [start, start + count) into <paramref name="destination"/> (count x D), L2-normalized.</summary>
    public unsafe void ReadRows(int start, int count, Span<float> destination)
    {
        byte* basePtr = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
        try
        {
            var data = basePtr + _view.PointerOffset + _offset;
            for (var r = 0; r < count; r++)
            {
                var row = destination.Slice(r * Dims, Dims);
                var at = (long)(start + r) * Dims;
                if (_half)
                {
                    var src = new ReadOnlySpan<Half>((Half*)data + at, Dims);
                    for (var d = 0; d < Dims; d++)
                    {
                        row[d] = (float)src[d];
                    }
                }
                else
                {
                    new ReadOnlySpan<float>((float*)data + at, Dims).CopyTo(row);
                }

                Normalize(row, start + r);
            }
        }
        finally
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
    }

    /// <summary>Reads the listed rows (any order) into <paramref name="destination"/>, L2-normalized.</summary>
    public void ReadRows(IReadOnlyList<int> rows, Span<float> destination)
    {
        for (var i = 0; i < rows.Count; i++)
        {
            ReadRows(rows[i], 1, destination.Slice(i * Dims, Dims));
        }
    }

    private void Normalize(Span<float> row, int index)
    {
        double sum = 0;
        foreach (var v in row)
        {
            if (!float.IsFinite(v))
            {
                throw new InvalidDataException($"{Path}: row {index} holds NaN or infinity; clean or drop it before selecting a coreset");
            }

            sum += v * (double)v;
        }

        // An all-zero row (the reference writes zeros for samples without tokens) stays zero: it is nobody's neighbour.
        if (sum > 0)
        {
            var scale = (float)(1 / Math.Sqrt(sum));
            for (var d = 0; d < row.Length; d++)
            {
                row[d] *= scale;
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _view.Dispose();
        _file.Dispose();
    }
}
