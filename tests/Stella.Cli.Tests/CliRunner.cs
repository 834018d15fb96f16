using System.Diagnostics;

namespace Stella.Cli.Tests;

/// <summary>Runs the built CLI (stella.dll next to the tests) as a process.</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Stella(params string[] args)
    {
        using var p = Start(args);
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000), "stella did not finish in 2 minutes");
        return (p.ExitCode, output.Result, error.Result);
    }

    /// <summary>Starts stella with <paramref name="args"/>, its output redirected; the caller waits for it.</summary>
    public static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "stella.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        return Process.Start(start)!;
    }

    /// <summary>Sends <paramref name="signal"/> to process <paramref name="pid"/> (libc's kill); 0 on success.</summary>
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static extern int Kill(int pid, int signal);

    /// <summary>Training records in a run's metrics.jsonl so far (0 while it does not exist or is being written).</summary>
    public static int TrainLines(string metrics)
    {
        try
        {
            return File.Exists(metrics) ? File.ReadLines(metrics).Count(l => l.Contains("\"kind\":\"train\"", StringComparison.Ordinal)) : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public static string TempDir()
    {
        return global::Stella.Tests.Shared.TestTemp.Dir();
    }
}
