using System.Globalization;
using System.Runtime.InteropServices;

namespace Stella.Core.Diagnostics;

/// <summary>The process' resident-memory figures from Linux' /proc/self (what the runs and benchmarks report), and <see cref="Release"/>.</summary>
public static class ProcessMemory
{
    private const string StatusPath = "/proc/self/status";

    /// <summary>Peak resident set size so far (VmHWM), in MB; null where it cannot be read (no /proc, an unreadable line).</summary>
    public static double? PeakRssMb() => StatusMb("VmHWM");

    /// <summary>
    /// A kB field of /proc/self/status (VmHWM, VmRSS, ...) in MB; null where it cannot be read. A figure for a report must never
    /// cost the run, so nothing here throws.
    /// </summary>
    public static double? StatusMb(string field)
    {
        try
        {
            return File.Exists(StatusPath) ? FieldMb(File.ReadLines(StatusPath), field) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The kB field <paramref name="field"/> of status lines such as <c>VmHWM:\t10240000 kB</c>, in MB; null when absent or unreadable.</summary>
    public static double? FieldMb(IEnumerable<string> statusLines, string field)
    {
        var prefix = field + ":";
        var line = statusLines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? null : ParseKb(line[prefix.Length..]) / 1024;
    }

    /// <summary>
    /// The number of a status value such as <c>"\t10240000 kB"</c> or <c>"    2048 kB"</c> (the kernel pads with spaces after a tab;
    /// from 8 digits on the number touches the tab); null when the value is not a number followed by kB.
    /// </summary>
    public static double? ParseKb(string value)
    {
        var parts = value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return parts is [var number, "kB"] && double.TryParse(number, NumberStyles.Integer, CultureInfo.InvariantCulture, out var kb) ? kb : null;
    }

    /// <summary>
    /// Resets the peak (writing 5 to clear_refs, Linux >= 4.0), so a figure is one run's, not the process' so far; returns the
    /// reason when it cannot.
    /// </summary>
    public static string? ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }

    /// <summary>
    /// Hands memory freed by finished work back to the operating system before the next piece of work of the same process (one
    /// compare runs many trainings): a compacting full collection (the managed heap, and the finalizers of anything left to them)
    /// and glibc's <c>malloc_trim</c>, which returns the free pages of libtorch's and the codecs' native heaps. Never throws; returns
    /// the resident set before and after and the managed heap after, in MB (null where /proc cannot be read). Written by hand: no
    /// library exposes malloc_trim; a libc without it (musl) is skipped.
    /// </summary>
    public static (double? RssBeforeMb, double? RssAfterMb, double ManagedMb) Release()
    {
        var before = StatusMb("VmRSS");
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        if (OperatingSystem.IsLinux())
        {
            try
            {
                _ = MallocTrim(0);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                // Not glibc: nothing to trim by this call.
            }
        }

        var info = GC.GetGCMemoryInfo();
        return (before, StatusMb("VmRSS"), (info.HeapSizeBytes - info.FragmentedBytes) / (1024.0 * 1024.0));
    }

    // DllImport, not LibraryImport: the generated stub would need unsafe code in this project for one blittable call.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
#pragma warning restore SYSLIB1054
}
