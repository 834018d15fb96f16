namespace Stella.Core.Arrays;

/// <summary>The header of a .npy file.</summary>
/// <param name="Descr">NumPy dtype descriptor, e.g. <c>&lt;f4</c>.</param>
/// <param name="Shape">Array shape.</param>
/// <param name="DataOffset">Byte offset of the first element.</param>
public sealed record NpyHeader(string Descr, long[] Shape, long DataOffset)
{
    /// <summary>Number of elements.</summary>
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
}
