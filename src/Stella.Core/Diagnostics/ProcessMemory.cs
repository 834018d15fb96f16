using System.Globalization;

namespace Stella.Core.Diagnostics;

/// <summary>The process' resident-memory figures from Linux' /proc/self (what the runs and benchmarks report).</summary>
public static class ProcessMemory
{
    /// <summary>Peak resident set size so far (VmHWM), in MB; NaN where /proc is not there.</summary>
    public static double PeakRssMb()
    {
        var line = File.Exists("/proc/self/status")
            ? File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal))
            : null;
        return line is null ? double.NaN : StatusKb(line) / 1024;
    }

    /// <summary>
    /// The kB figure of a /proc status line ("VmHWM:\t    2216 kB"). The kernel pads the number to 8 columns after a tab, so from
    /// 10,000,000 kB on the tab is the only separator.
    /// </summary>
    public static double StatusKb(string line) =>
        double.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

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
}
