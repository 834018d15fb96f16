using Stella.Core.Arrays;

namespace Stella.Core.Tests;

public sealed class NpyTests
{
    [Fact]
    public void Float32_RoundTrips_WithAlignedHeader()
    {
        var path = Path.Combine(RepoPaths.TempDir(), "a.npy");
        var data = Enumerable.Range(0, 24).Select(i => i * 0.5f).ToArray();
        Npy.Write(path, data, 2, 3, 4);
        var (read, shape) = Npy.ReadFloat32(path);
        Assert.Equal(data, read);
        Assert.Equal(new long[] { 2, 3, 4 }, shape);
        using var s = File.OpenRead(path);
        Assert.Equal(0, Npy.ReadHeader(s, path).DataOffset % 64);
    }

    [Fact]
    public void Write_ShapeMismatch_IsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => Npy.Write(Path.Combine(RepoPaths.TempDir(), "b.npy"), new float[5], 2, 3));
        Assert.Contains("holds 6 elements, data has 5", e.Message);
    }

    [Fact]
    public void Read_NotNpy_SaysSo()
    {
        var path = RepoPaths.Write(RepoPaths.TempDir(), "c.npy", "hello world, definitely not numpy");
        var e = Assert.Throws<UserInputException>(() => Npy.ReadFloat32(path));
        Assert.Contains("not a .npy file", e.Message);
    }
}
