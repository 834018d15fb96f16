namespace Stella.Tests.Shared;

/// <summary>
/// Temporary folders of one test process, all under one root (<c>&lt;temp&gt;/stella-test-runs/&lt;pid&gt;-&lt;id&gt;/</c>) that is
/// removed when the process exits. Before, every test left its folders behind: 1,337 folders and 27 GB under /tmp after a few
/// days of `make test` on one machine. A root whose process is gone (a test host killed by a timeout, a crash) is removed by the
/// next test process that starts (also a root whose delete was cut short: the test platform may end its host before a large
/// delete finishes). Linked into each test project.
/// </summary>
internal static class TestTemp
{
    private static readonly string Runs = Path.Combine(Path.GetTempPath(), "stella-test-runs");

    private static readonly Lazy<string> Root = new(CreateRoot);

    /// <summary>A new empty folder whose name starts with <paramref name="prefix"/>.</summary>
    public static string Dir(string prefix = "t")
    {
        var dir = Path.Combine(Root.Value, $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string CreateRoot()
    {
        RemoveOrphans();
        var root = Path.Combine(Runs, $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
        return root;
    }

    // Roots whose process no longer runs. A pid reused by an unrelated process keeps its root until that process ends; harmless.
    private static void RemoveOrphans()
    {
        if (!Directory.Exists(Runs))
        {
            return;
        }

        foreach (var dir in Directory.GetDirectories(Runs))
        {
            var name = Path.GetFileName(dir);
            var dash = name.IndexOf('-');
            if (dash > 0 && int.TryParse(name[..dash], out var pid) && !Alive(pid))
            {
                TryDelete(dir);
            }
        }
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
            // Another process may be removing it too, or a file is still open: what is left goes with the next orphan sweep.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
