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
    private static readonly SynthOptions Small = new() { Tasks = 2, ClassesPerTask = 2, TrainPerClass = 4, EvalPerClass = 1, BaseClasses = 0, Seconds = 5, Seed = 9 };

    /// <summary>Runs stream-train until <paramref name="killWhen"/> says so (checked on every output line and every few ms), then SIGKILLs it.</summary>
    private static async Task<string> RunUntilKilledAsync(string config, string run, bool resume, Func<string?, bool> killWhen)
    {
        using var p = resume ? CliRunner.Start("stream-train", "--config", config, "--out", run, "--resume") : CliRunner.Start("stream-train", "--config", config, "--out", run);
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
                Assert.Equal(0, CliRunner.Kill(p.Id, 9));
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
            "name: kill\nmanifest: manifest.csv\nmethod: stella\nbatch_size: 4\nepochs_per_task: 2\ncheckpoint_every: 1\nworkers: 2\nmax_quarantine_share: 1.0\nprobe_per_class: 1\n");
        var straight = Path.Combine(dir, "straight");
        using (var p = CliRunner.Start("stream-train", "--config", config, "--out", straight))
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(240_000));
            Assert.True(p.ExitCode == 0, $"{await stdout}\n{await stderr}");
        }

        var run = Path.Combine(dir, "killed");
        var metrics = Path.Combine(run, "metrics.jsonl");
        var checkpoints = Path.Combine(run, "checkpoints");
        string[] Saves() => Directory.Exists(checkpoints) ? Directory.GetDirectories(checkpoints, ".step-*.tmp") : [];

        // 1. mid-task 0, after 3 steps.
        await RunUntilKilledAsync(config, run, resume: false, _ => CliRunner.TrainLines(metrics) >= 3);
        // 2. during the evaluation after task 0.
        var log = await RunUntilKilledAsync(config, run, resume: true, line => line?.Contains("task 0: trained, evaluating", StringComparison.Ordinal) == true);
        Assert.Contains("resuming stella at task 0", log);
        // 3. while a checkpoint's rehearsal memory is being written: a save this process began (not one a kill left behind), its memory folder begun.
        var leftBehind = Saves();
        await RunUntilKilledAsync(config, run, resume: true, _ => Saves().Except(leftBehind).Any(d => Directory.Exists(Path.Combine(d, "memory"))));
        // 4. mid-task 1.
        var before = CliRunner.TrainLines(metrics);
        await RunUntilKilledAsync(config, run, resume: true, _ => CliRunner.TrainLines(metrics) >= before + 2);
        using (var p = CliRunner.Start("stream-train", "--config", config, "--out", run, "--resume"))
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
