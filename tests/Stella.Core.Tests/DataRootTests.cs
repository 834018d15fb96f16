using Stella.Core.Manifests;

namespace Stella.Core.Tests;

public sealed class DataRootTests
{
    [Fact]
    public void Resolve_RelativePath_StaysUnderRoot()
    {
        var root = RepoPaths.TempDir();
        Assert.Equal(Path.Combine(root, "clips", "a.mp4"), new DataRoot(root).Resolve("clips/./a.mp4"));
        Assert.Equal(Path.Combine(root, "a.mp4"), new DataRoot(root).Resolve("clips/../a.mp4"));
    }

    [Theory]
    [InlineData("../secret.mp4", "escapes the data root")]
    [InlineData("clips/../../secret.mp4", "escapes the data root")]
    [InlineData("/etc/passwd", "is absolute")]
    [InlineData("", "empty clip path")]
    public void Resolve_Escape_IsRefusedWithRow(string path, string problem)
    {
        var e = Assert.Throws<ManifestException>(() => new DataRoot(RepoPaths.TempDir()).Resolve(path, "manifest.csv", 12));
        Assert.Contains(problem, e.Message);
        Assert.StartsWith("manifest.csv:12:", e.Message);
    }

    [Fact]
    public void Resolve_LinkPointingOutside_IsRefused()
    {
        var root = RepoPaths.TempDir();
        var outside = RepoPaths.Write(RepoPaths.TempDir(), "x.mp4", "data");
        File.CreateSymbolicLink(Path.Combine(root, "link.mp4"), outside);
        var e = Assert.Throws<ManifestException>(() => new DataRoot(root).Resolve("link.mp4"));
        Assert.Contains("outside the data root", e.Message);
    }

    [Fact]
    public void Resolve_SiblingWithSamePrefix_IsRefused()
    {
        var root = RepoPaths.TempDir();
        Directory.CreateDirectory(root + "-evil");
        var e = Assert.Throws<ManifestException>(() => new DataRoot(root).Resolve($"../{Path.GetFileName(root)}-evil/a.mp4"));
        Assert.Contains("escapes", e.Message);
    }
}
