using System.Diagnostics;
using Stella.Media.Synth;
using Stella.Pipeline;
using Stella.Pipeline.Tests;

namespace Stella.Cli.Tests;

/// <summary>
/// The real process, killed with SIGKILL at several points of a stream with broken clips in two tasks (mid-task, during a task-end
/// evaluation, while a checkpoint's memory is being written), resumed each time: it ends exactly where an uninterrupted run ends.
/// </summary>
public sealed class KillAnywhereTests
{
    private static readonly SynthOptions Small = new() { Tasks = 2, ClassesPerTask = 2, TrainPerClass = 4, EvalPerClass = 2, Seconds = 5, Seed = 9 };

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    private static Process Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "stella.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        return Process.Start(start)!;
    }

    private static int TrainLines(string metrics)
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

    /// <summary>Runs stream-train until <paramref name="killWhen"/> says so (checked on every output line and every few ms), then SIGKILLs it.</summary>
    private static async Task<string> RunUntilKilledAsync(string config, string run, bool resume, Func<string?, bool> killWhen)
    {
        using var p = resume ? Start("stream-train", "--config", config, "--out", run, "--resume") : Start("stream-train", "--config", config, "--out", run);
        var output = new System.Text.StringBuilder();
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var reader = Task.Run(async () =>
        {
            string? line;
            while ((line = await p.StandardOutput.ReadLineAsync()) is not null)
            {
                lines.Enqueue(line);
            }
        });
        var stderr = p.StandardError.ReadToEndAsync();
        var killed = false;
        var watch = Stopwatch.StartNew();
        while (!p.HasExited && watch.Elapsed < TimeSpan.FromMinutes(4))
        {
            var fire = killWhen(null);
            while (lines.TryDequeue(out var line))
            {
                output.AppendLine(line);
                fire |= killWhen(line);
            }

            if (fire)
            {
                Assert.Equal(0, Kill(p.Id, 9));
                killed = true;
                break;
            }

            await Task.Delay(2);
        }

        Assert.True(p.WaitForExit(60_000));
        await reader;
        Assert.True(killed, $"the run was not killed (exit {p.ExitCode}):\n{output}\n{await stderr}");
        return output.ToString();
    }

    [Fact]
    public async Task StreamTrain_KilledAtSeveralPoints_ResumesToTheUninterruptedRun()
    {
        var dir = await BrokenStream.CreateAsync(await TestData.SynthAsync(Small));
        var config = Path.Combine(dir, "job.yaml");
        await File.WriteAllTextAsync(config,
            "name: kill\nmanifest: manifest.csv\nmethod: stella\nbatch_size: 4\nepochs_per_task: 2\ncheckpoint_every: 1\nworkers: 2\nmax_quarantine_share: 1.0\nprobe_per_class: 2\n");
        var straight = Path.Combine(dir, "straight");
        using (var p = Start("stream-train", "--config", config, "--out", straight))
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(240_000));
            Assert.True(p.ExitCode == 0, $"{await stdout}\n{await stderr}");
        }

        var run = Path.Combine(dir, "killed");
        var metrics = Path.Combine(run, "metrics.jsonl");
        var checkpoints = Path.Combine(run, "checkpoints");
        bool SavingMemory() => Directory.Exists(checkpoints) && Directory.GetDirectories(checkpoints, ".step-*.tmp").Any(d => Directory.Exists(Path.Combine(d, "memory")));

        // 1. mid-task 0, after 3 steps.
        await RunUntilKilledAsync(config, run, resume: false, _ => TrainLines(metrics) >= 3);
        // 2. during the evaluation after task 0.
        var log = await RunUntilKilledAsync(config, run, resume: true, line => line?.Contains("task 0: trained, evaluating", StringComparison.Ordinal) == true);
        Assert.Contains("resuming stella at task 0", log);
        // 3. while a checkpoint's rehearsal memory is being written (a save in progress, its memory folder begun).
        await RunUntilKilledAsync(config, run, resume: true, _ => SavingMemory());
        // 4. mid-task 1.
        var before = TrainLines(metrics);
        await RunUntilKilledAsync(config, run, resume: true, _ => TrainLines(metrics) >= before + 2);
        using (var p = Start("stream-train", "--config", config, "--out", run, "--resume"))
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(240_000));
            Assert.True(p.ExitCode == 0, $"{await stdout}\n{await stderr}");
        }

        RunAssert.Same(straight, run, StreamTrainConfig.Load(config).Hash());
        Assert.Equal(6, File.ReadLines(Path.Combine(run, "quarantine.csv")).Count() - 1);
    }
}
