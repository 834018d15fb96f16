using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Stella.Core.Arrays;

/// <summary>
/// Reads and writes NumPy <c>.npy</c> files (format 1.0/2.0/3.0, C order, little endian).
/// Written by hand: the format is a short text header plus raw data, and no maintained .NET package
/// reads it without pulling in a whole array library.
/// </summary>
public static partial class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Writes a float32 array of <paramref name="shape"/>.</summary>
    public static void Write(string path, ReadOnlySpan<float> data, params int[] shape) => WriteRaw(path, "<f4", shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(data), data.Length);

    /// <summary>Writes a uint8 array of <paramref name="shape"/>.</summary>
    public static void Write(string path, ReadOnlySpan<byte> data, params int[] shape) => WriteRaw(path, "|u1", shape, data, data.Length);

    /// <summary>Writes an int64 array of <paramref name="shape"/>.</summary>
    public static void Write(string path, ReadOnlySpan<long> data, params int[] shape) => WriteRaw(path, "<i8", shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(data), data.Length);

    /// <summary>Writes an int32 array of <paramref name="shape"/>.</summary>
    public static void Write(string path, ReadOnlySpan<int> data, params int[] shape) => WriteRaw(path, "<i4", shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(data), data.Length);

    /// <summary>Reads the header of a .npy file: dtype descriptor, shape and the offset of the data.</summary>
    public static NpyHeader ReadHeader(Stream stream, string nameForErrors)
    {
        Span<byte> head = stackalloc byte[10];
        stream.ReadExactly(head[..8]);
        if (!head[..6].SequenceEqual(Magic))
        {
            throw new UserInputException($"{nameForErrors}: not a .npy file (bad magic)");
        }

        var major = head[6];
        int headerLength;
        if (major == 1)
        {
            stream.ReadExactly(head[8..10]);
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(head[8..10]);
        }
        else if (major is 2 or 3)
        {
            Span<byte> len = stackalloc byte[4];
            stream.ReadExactly(len);
            headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(len));
        }
        else
        {
            throw new UserInputException($"{nameForErrors}: unsupported .npy version {major}");
        }

        var text = new byte[headerLength];
        stream.ReadExactly(text);
        var dict = Encoding.Latin1.GetString(text);
        var descr = DescrRegex().Match(dict);
        var order = FortranRegex().Match(dict);
        var shape = ShapeRegex().Match(dict);
        if (!descr.Success || !order.Success || !shape.Success)
        {
            throw new UserInputException($"{nameForErrors}: malformed .npy header '{dict.Trim()}'");
        }

        if (order.Groups[1].Value == "True")
        {
            throw new UserInputException($"{nameForErrors}: Fortran-ordered arrays are not supported; save with np.ascontiguousarray");
        }

        var dims = shape.Groups[1].Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.Parse(s, CultureInfo.InvariantCulture))
            .ToArray();
        return new NpyHeader(descr.Groups[1].Value, dims, stream.Position);
    }

    /// <summary>Reads a whole float32 (or float16, widened) array; returns the data and the shape.</summary>
    public static (float[] Data, long[] Shape) ReadFloat32(string path)
    {
        using var stream = File.OpenRead(path);
        var header = ReadHeader(stream, path);
        var count = checked((int)header.Count);
        var data = new float[count];
        switch (header.Descr)
        {
            case "<f4":
                stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
                break;
            case "<f2":
                var halves = new Half[count];
                stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(halves.AsSpan()));
                for (var i = 0; i < count; i++)
                {
                    data[i] = (float)halves[i];
                }

                break;
            case "<f8":
                var doubles = new double[count];
                stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(doubles.AsSpan()));
                for (var i = 0; i < count; i++)
                {
                    data[i] = (float)doubles[i];
                }

                break;
            default:
                throw new UserInputException($"{path}: dtype '{header.Descr}' is not a float array (expected <f4, <f2 or <f8)");
        }

        return (data, header.Shape);
    }

    /// <summary>Reads a whole uint8 array.</summary>
    public static (byte[] Data, long[] Shape) ReadUInt8(string path)
    {
        using var stream = File.OpenRead(path);
        var header = ReadHeader(stream, path);
        if (header.Descr != "|u1")
        {
            throw new UserInputException($"{path}: dtype '{header.Descr}' is not uint8");
        }

        var data = new byte[checked((int)header.Count)];
        stream.ReadExactly(data);
        return (data, header.Shape);
    }

    private static void WriteRaw(string path, string descr, int[] shape, ReadOnlySpan<byte> bytes, int count)
    {
        long expected = 1;
        foreach (var d in shape)
        {
            expected *= d;
        }

        if (expected != count)
        {
            throw new ArgumentException($"shape ({string.Join(", ", shape)}) holds {expected} elements, data has {count}");
        }

        var tmp = path + ".tmp";
        using (var stream = File.Create(tmp))
        {
            WriteHeader(stream, descr, shape.Select(d => (long)d).ToArray());
            stream.Write(bytes);
        }

        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>
    /// Writes a version 1.0 header for C-order data of <paramref name="descr"/> (for example "&lt;f2") and <paramref name="shape"/>;
    /// the caller streams the data after it (files larger than memory are written this way).
    /// </summary>
    public static void WriteHeader(Stream stream, string descr, params long[] shape)
    {
        var shapeText = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        var dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";
        // Header padded with spaces so that magic + length + header is a multiple of 64 bytes, ending in '\n'.
        var total = Magic.Length + 4 + dict.Length + 1;
        var pad = (64 - (total % 64)) % 64;
        var header = dict + new string(' ', pad) + "\n";
        stream.Write(Magic);
        stream.Write([1, 0]);
        Span<byte> len = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
        stream.Write(len);
        stream.Write(Encoding.Latin1.GetBytes(header));
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']+)'")]
    private static partial Regex DescrRegex();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranRegex();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeRegex();
}
