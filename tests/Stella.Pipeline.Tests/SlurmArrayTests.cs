using System.Diagnostics;
using Stella.Pipeline.Shards;

namespace Stella.Pipeline.Tests;

/// <summary>
/// pipelines/slurm/ on a real scheduler: a single-node Slurm started on this machine (pipelines/slurm/local-cluster.sh). Opt-in,
/// since it starts daemons as root: <c>make test-slurm</c> installs Debian's slurm-wlm and munge and runs it with
/// STELLA_SLURM_TEST=1; elsewhere it is skipped with that reason. Once opted in, a Slurm that cannot start is a failure, not a skip.
/// </summary>
public sealed class SlurmArrayTests
{
    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Stella.Pipeline.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException($"no Stella.Pipeline.sln above {AppContext.BaseDirectory}");
    }

    private static async Task<(int Exit, string Output)> RunAsync(string file, IEnumerable<string> args, TimeSpan limit, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{file} did not finish within {limit.TotalSeconds} s: {await stdout}{await stderr}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    [SkippableFact]
    public async Task PreprocessArray_OfThreeTasks_WritesExactlyTheRowsOfOneProcess()
    {
        Skip.If(Environment.GetEnvironmentVariable("STELLA_SLURM_TEST") != "1",
            "opt-in: it starts Slurm daemons as root on this machine; run 'make test-slurm' (installs slurm-wlm and munge, sets STELLA_SLURM_TEST=1)");
        Assert.True(File.Exists("/usr/sbin/slurmctld") && File.Exists("/usr/bin/sbatch"), "Slurm is not installed: 'pipelines/slurm/local-cluster.sh install' (make test-slurm does it)");
        Assert.True(Environment.UserName == "root", $"the local Slurm runs its daemons as root; this test runs as {Environment.UserName}");
        var root = RepoRoot();
        var (started, startLog) = await RunAsync(Path.Combine(root, "pipelines", "slurm", "local-cluster.sh"), ["start"], TimeSpan.FromSeconds(90));
        Assert.True(started == 0, $"a local Slurm could not start here: {startLog.Trim()}");

        var data = await TestData.SynthAsync(TestData.Tiny);
        var work = TestData.TempDir();
        var config = Path.Combine(work, "job.yaml");
        await File.WriteAllTextAsync(config, $"name: slurm\nmanifest: {Path.Combine(data, "manifest.csv")}\nmodel: tiny\nseed: 4\nworkers: 1\nprobe_per_class: 2\n");
        var arrayOut = Path.Combine(work, "array");
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        var stella = $"dotnet {Path.Combine(root, "src", "Stella.Cli", "bin", configuration, "net10.0", "stella.dll")}";
        var (exit, output) = await RunAsync("sbatch",
            ["--wait", "--array=0-2", $"--chdir={root}", $"--output={Path.Combine(work, "slurm-%A_%a.log")}", $"--export=ALL,STELLA={stella}",
             Path.Combine(root, "pipelines", "slurm", "preprocess.sbatch"), config, arrayOut],
            TimeSpan.FromMinutes(5));
        var logs = string.Join("\n", Directory.GetFiles(work, "slurm-*.log").Order(StringComparer.Ordinal).Select(f => $"{Path.GetFileName(f)}: {File.ReadAllText(f)}"));
        Assert.True(exit == 0, $"sbatch --wait exit {exit}: {output}\n{logs}");
        Assert.Equal(3, Directory.GetFiles(work, "slurm-*.log").Length);
        foreach (var task in new[] { "0000", "0001", "0002" })
        {
            Assert.True(Directory.GetFiles(arrayOut, $"shard-{task}-of-0003-*.parquet").Length > 0, $"array task {task} wrote no shard: {logs}");
        }

        // The array's merged folder holds exactly the rows (and bytes of media) of one process over the same config.
        var single = Path.Combine(work, "single");
        var rows = await new PreprocessJob(StreamTrainConfig.Load(config), single, 0, 1, _ => { }).RunAsync(CancellationToken.None);
        var expected = await ShardRows.ReadAsync(single);
        Assert.Equal(rows, expected.Count);
        Assert.Equal(expected, await ShardRows.ReadAsync(arrayOut));
        var source = await PatchShardSource.OpenAsync([arrayOut], Stella.Model.Config.ModelConfig.Tiny, _ => { }, CancellationToken.None);
        Assert.Equal(3 * 3, source.Files);
    }
}
