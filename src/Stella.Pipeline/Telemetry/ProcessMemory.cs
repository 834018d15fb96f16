using System.Runtime.InteropServices;

namespace Stella.Pipeline.Telemetry;

/// <summary>
/// Hands memory freed by a finished run back to the operating system before the next run of the same process (compare): a
/// compacting full collection (the managed heap, and the finalizers of anything left to them) and glibc's <c>malloc_trim</c>, which
/// returns the free pages of libtorch's and the codecs' native heaps; without it a process' RSS after a run stays near that run's
/// peak and the next run's peak adds to it. Written by hand: no library exposes malloc_trim; a libc without it is skipped.
/// </summary>
public static class ProcessMemory
{
    /// <summary>Collects, finalizes, collects again and trims the native heap; never throws.</summary>
    public static void Release()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            // Not glibc (musl): nothing to trim by this call.
        }
    }

    // DllImport, not LibraryImport: the generated stub would need unsafe code in this project for one blittable call.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
#pragma warning restore SYSLIB1054
}
