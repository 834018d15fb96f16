using System.Runtime.InteropServices;
using TorchSharp;

namespace Stella.Model.Runtime;

/// <summary>
/// Brings TorchSharp up on this machine. Call <see cref="Initialize"/> before the first use of <c>torch</c>.
/// </summary>
/// <remarks>
/// TorchSharp 0.107.0's <c>libLibTorchSharp.so</c> requires <c>GLIBCXX_3.4.32</c> only for a link-time marker it never
/// calls; Debian 12's libstdc++ stops at 3.4.30. Where the running libstdc++ lacks that version, the copy of the
/// library in the application's output folder (never the NuGet cache) gets that one requirement marked weak,
/// atomically (temporary file + rename) and only once; where libstdc++ has it, nothing is touched.
/// </remarks>
public static class TorchRuntime
{
    /// <summary>The libstdc++ symbol version that TorchSharp's native library asks for.</summary>
    public const string RequiredGlibcxx = "GLIBCXX_3.4.32";

    private static readonly Lock Gate = new();
    private static NativeFixResult? _fix;

    /// <summary>What <see cref="Initialize"/> did about the native library.</summary>
    public enum NativeFixResult
    {
        /// <summary>Not Linux, or libstdc++ already provides the version: nothing to do.</summary>
        NotNeeded,

        /// <summary>The library was already patched (an earlier run did it).</summary>
        AlreadyPatched,

        /// <summary>This call patched the library.</summary>
        Patched,
    }

    /// <summary>Applies the native fix when needed and initialises the CPU backend. Safe to call many times.</summary>
    public static NativeFixResult Initialize()
    {
        lock (Gate)
        {
            if (_fix is { } done)
            {
                return done;
            }

            var fix = EnsureNativeLibraryLoadable();
            try
            {
                torch.InitializeDeviceType(DeviceType.CPU);
            }
            catch (Exception e)
            {
                throw new InvalidOperationException(
                    $"TorchSharp failed to initialise (native fix: {fix}, library: {LocateLibTorchSharp() ?? "not found"}). " +
                    "Rebuild with 'make build'; see README 'TorchSharp on Debian 12'.", e);
            }

            _fix = fix;
            return fix;
        }
    }

    /// <summary>
    /// Asks OpenMP (libtorch's CPU threads) to spin only briefly (GOMP_SPINCOUNT 1,000, some tens of microseconds) before
    /// sleeping between parallel regions, unless the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT; only effective before torch's
    /// native libraries load (libgomp reads them once). Long spins take the cores from everything else: on this project's shared
    /// 2-core machine (load average about 25) k-means at D = 64, K = 100 took 159 s wall and 30 CPU-seconds spinning with the
    /// default spin, 5.5 s and 2.3 CPU-seconds passive. Fully passive waits cost a wake-up per torch call instead, which
    /// k-means at small shapes pays thousands of times a fit: on the idle machine (N = 100,000, 20 iterations, medians of 5)
    /// D 64, K 500 took 1.92 s passive and 1.53 s with 1,000 spins (1.48 s spinning without limit). Under load (20 busy processes,
    /// load average about 20; `stella coreset`, D 64, K 100) 1,000 spins took 14.4 s, passive 14.1 s, libgomp's default 300,000
    /// spins 41.5 s. Returns whether it was set.
    /// </summary>
    public static bool PreferShortThreadSpins()
    {
        lock (Gate)
        {
            if (_fix is not null || !OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null || Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is not null)
            {
                return false;
            }

            // .NET's Environment.SetEnvironmentVariable does not reach the native environment that libgomp reads: setenv does.
            var set = SetEnv("GOMP_SPINCOUNT", SpinCount, 0) == 0;
            if (set)
            {
                Environment.SetEnvironmentVariable("GOMP_SPINCOUNT", SpinCount);
            }

            return set;
        }
    }

    private const string SpinCount = "1000";

    [DllImport("libc", EntryPoint = "setenv", CharSet = CharSet.Ansi)]
    private static extern int SetEnv(string name, string value, int overwrite);

    /// <summary>
    /// Resolves a device setting: <c>cpu</c> (the default), <c>cuda</c> (fails with advice when no CUDA device or build),
    /// <c>cuda:N</c>, or <c>auto</c> (CUDA when present, else CPU).
    /// </summary>
    public static torch.Device ResolveDevice(string? setting)
    {
        Initialize();
        var value = string.IsNullOrWhiteSpace(setting) ? "cpu" : setting.Trim().ToLowerInvariant();
        if (value == "cpu")
        {
            return torch.CPU;
        }

        var cudaAvailable = CudaAvailable();
        if (value == "auto")
        {
            return cudaAvailable ? torch.CUDA : torch.CPU;
        }

        if (value == "cuda" || value.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!cudaAvailable)
            {
                throw new Stella.Core.UserInputException(
                    $"device '{setting}' was asked for, but TorchSharp sees no CUDA device. Build with 'make build CUDA=1' " +
                    "(-p:StellaCuda=true, needs the TorchSharp-cuda-linux package) on a machine with an NVIDIA GPU, or use --device cpu.");
            }

            return new torch.Device(value);
        }

        throw new Stella.Core.UserInputException($"unknown device '{setting}': use cpu, cuda, cuda:N or auto");
    }

    /// <summary>True when TorchSharp can use a CUDA device (false when the CUDA backend is not built in).</summary>
    public static bool CudaAvailable()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CUDA);
            return torch.cuda.is_available();
        }
        catch (Exception)
        {
            return false;
        }
    }

    /// <summary>True when the libstdc++ the process loads defines <paramref name="version"/>.</summary>
    public static bool HostLibStdCxxHas(string version)
    {
        var path = LocateHostLibStdCxx();
        return path is not null && ElfVersionNeeds.ReadDefinitions(File.ReadAllBytes(path)).Contains(version);
    }

    /// <summary>Path of the libLibTorchSharp.so that TorchSharp will load, or null when there is none.</summary>
    public static string? LocateLibTorchSharp()
    {
        var torchDir = Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? AppContext.BaseDirectory;
        string[] candidates =
        [
            Path.Combine(torchDir, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"),
            Path.Combine(torchDir, "libLibTorchSharp.so"),
            Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so"),
        ];
        return candidates.FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// Marks <see cref="RequiredGlibcxx"/> weak in the library at <paramref name="path"/> if it is not already.
    /// Writes a temporary file beside it and renames it over the original, so a reader sees the old or the new file.
    /// </summary>
    public static bool PatchFile(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (ElfVersionNeeds.MarkWeak(bytes, RequiredGlibcxx) == 0)
        {
            return false;
        }

        var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        File.WriteAllBytes(temp, bytes);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, File.GetUnixFileMode(path));
        }

        File.Move(temp, path, overwrite: true);
        return true;
    }

    private static NativeFixResult EnsureNativeLibraryLoadable()
    {
        if (!OperatingSystem.IsLinux() || HostLibStdCxxHas(RequiredGlibcxx))
        {
            return NativeFixResult.NotNeeded;
        }

        var lib = LocateLibTorchSharp()
            ?? throw new InvalidOperationException(
                "libLibTorchSharp.so was not found next to TorchSharp.dll: restore and build the project ('make build').");
        if (IsInNuGetCache(lib))
        {
            throw new InvalidOperationException(
                $"TorchSharp would load '{lib}' from the NuGet cache, which must not be edited. " +
                "Run the built application (bin/...), where the native files are copied, instead.");
        }

        var needs = ElfVersionNeeds.ReadRequirements(File.ReadAllBytes(lib));
        if (!needs.Any(r => r.Version == RequiredGlibcxx && !r.IsWeak))
        {
            return NativeFixResult.AlreadyPatched;
        }

        return PatchFile(lib) ? NativeFixResult.Patched : NativeFixResult.AlreadyPatched;
    }

    private static bool IsInNuGetCache(string path)
    {
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        return (!string.IsNullOrEmpty(cache) && path.StartsWith(Path.GetFullPath(cache), StringComparison.Ordinal))
            || path.Contains($"{Path.DirectorySeparatorChar}.nuget{Path.DirectorySeparatorChar}packages{Path.DirectorySeparatorChar}", StringComparison.Ordinal);
    }

    private static string? LocateHostLibStdCxx()
    {
        // Load it the way the dynamic loader will for TorchSharp, then read back which file that was.
        if (!NativeLibrary.TryLoad("libstdc++.so.6", out _))
        {
            return null;
        }

        return File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(parts => parts.Length >= 6 && parts[^1].Contains("libstdc++.so", StringComparison.Ordinal))
            .Select(parts => parts[^1])
            .FirstOrDefault();
    }
}
