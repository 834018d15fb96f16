using Stella.Model.Runtime;

namespace Stella.Model.Tests;

public sealed class ElfVersionNeedsTests
{
    private static string PristineLibTorchSharp()
    {
        // The package's own file in the NuGet cache: read only, never written.
        var home = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var path = Path.Combine(home, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(path), $"expected the TorchSharp package at {path}");
        return path;
    }

    [Fact]
    public void ReadRequirements_PristineLibrary_HasStrongGlibcxx332()
    {
        var needs = ElfVersionNeeds.ReadRequirements(File.ReadAllBytes(PristineLibTorchSharp()));
        var marker = Assert.Single(needs, r => r.Version == "GLIBCXX_3.4.32");
        Assert.Equal("libstdc++.so.6", marker.Library);
        Assert.False(marker.IsWeak);
        Assert.Contains(needs, r => r.Version.StartsWith("GLIBC_2.", StringComparison.Ordinal));
    }

    [Fact]
    public void PatchFile_Twice_MarksOnlyThatVersionWeak_AndSecondCallChangesNothing()
    {
        var copy = Path.Combine(Path.GetTempPath(), $"stella-elf-{Guid.NewGuid():N}.so");
        File.Copy(PristineLibTorchSharp(), copy);
        try
        {
            var before = File.ReadAllBytes(copy);
            Assert.True(TorchRuntime.PatchFile(copy));
            var after = File.ReadAllBytes(copy);
            Assert.False(TorchRuntime.PatchFile(copy));
            Assert.Equal(after, File.ReadAllBytes(copy));

            // Exactly one byte differs: the low byte of vna_flags of the GLIBCXX_3.4.32 entry.
            var diffs = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToList();
            var marker = Assert.Single(ElfVersionNeeds.ReadRequirements(after), r => r.Version == "GLIBCXX_3.4.32");
            Assert.Equal([(int)marker.FlagsOffset], diffs);
            Assert.True(marker.IsWeak);
            Assert.All(ElfVersionNeeds.ReadRequirements(after).Where(r => r.Version != "GLIBCXX_3.4.32"),
                r => Assert.False(r.IsWeak));
        }
        finally
        {
            File.Delete(copy);
        }
    }

    [Fact]
    public void ReadRequirements_NotElf_IsRefused()
    {
        var e = Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.ReadRequirements("hello, not an ELF file, just text"u8.ToArray().Concat(new byte[64]).ToArray()));
        Assert.Contains("not an ELF file", e.Message);
    }
}
