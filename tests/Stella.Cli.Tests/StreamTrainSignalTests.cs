using System.Diagnostics;
using System.Text.Json;

namespace Stella.Cli.Tests;

/// <summary>
/// The real process: SIGTERM mid-run (the decode queue full, the producer waiting on it: later epochs come from the cache) writes a
/// checkpoint at the step it stopped at and exits 143; --resume finishes the run.
/// </summary>
public sealed class StreamTrainSignalTests
{
    [Fact]
    public async Task StreamTrain_Sigterm_WritesCheckpointAndExits_ThenResumeFinishes()
    {
        var dir = CliRunner.TempDir();
        using (var synth = CliRunner.Start("synth", "--out", Path.Combine(dir, "data"), "--tasks", "2", "--classes-per-task", "2", "--train-per-class", "4",
                   "--eval-per-class", "2", "--base-classes", "0", "--seconds", "5", "--seed", "5"))
        {
            Assert.True(synth.WaitForExit(120_000));
            Assert.Equal(0, synth.ExitCode);
        }

        var config = Path.Combine(dir, "job.yaml");
        await File.WriteAllTextAsync(config, "name: sig\nmanifest: data/manifest.csv\nmethod: er\nbatch_size: 4\nepochs_per_task: 6\ncheckpoint_every: 100\nworkers: 2\nprobe_per_class: 0\n");
        var run = Path.Combine(dir, "run");
        var metrics = Path.Combine(run, "metrics.jsonl");
        using (var first = CliRunner.Start("stream-train", "--config", config, "--out", run))
        {
            var stderr = first.StandardError.ReadToEndAsync();
            // SIGTERM once task 0 is evaluated: task 1 is training (6 epochs of 2 steps; from its second epoch on its clips come
            // from the cache, so the decode queue fills and the producer waits on it).
            var seen = new System.Text.StringBuilder();
            string? line;
            while ((line = await first.StandardOutput.ReadLineAsync()) is not null)
            {
                seen.AppendLine(line);
                if (line.Contains("task 0 done", StringComparison.Ordinal))
                {
                    break;
                }
            }

            Assert.True(line is not null, $"the run ended before task 0 was evaluated: {seen}");
            Assert.True(CliRunner.Kill(first.Id, 15) == 0, $"kill failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
            seen.Append(await first.StandardOutput.ReadToEndAsync());
            Assert.True(first.WaitForExit(60_000), "no exit within 60 s of SIGTERM");
            Assert.True(first.ExitCode == 143, $"exit code {first.ExitCode}; output:\n{seen}\n{await stderr}");
            Assert.Equal("cancelled", (await stderr).Trim());
            var stopped = System.Text.RegularExpressions.Regex.Match(seen.ToString(), "stopped: checkpoint at step (\\d+) written");
            Assert.True(stopped.Success, seen.ToString());
            // checkpoint_every 100: besides the task ends (step 12, 24) the one named LATEST is the stop's own, at the step it stopped at.
            Assert.Equal($"step-{int.Parse(stopped.Groups[1].Value):D8}", File.ReadAllText(Path.Combine(run, "checkpoints", "LATEST")).Trim());
        }

        var stoppedAt = CliRunner.TrainLines(metrics);
        Assert.InRange(stoppedAt, 12, 23);
        Assert.True(File.Exists(Path.Combine(run, "checkpoints", "LATEST")));
        Assert.False(File.Exists(Path.Combine(run, "results.json")));

        using (var second = CliRunner.Start("stream-train", "--config", config, "--out", run, "--resume"))
        {
            var stdout = second.StandardOutput.ReadToEndAsync();
            Assert.True(second.WaitForExit(180_000), "the resumed run did not finish in 3 minutes");
            Assert.Equal(0, second.ExitCode);
            Assert.Contains("resuming er at task", await stdout);
        }

        using var results = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(run, "results.json")));
        // 2 tasks x 8 clips x 6 epochs / batch 4 = 24 steps, whatever the point of interruption.
        Assert.Equal(24, results.RootElement.GetProperty("efficiency").GetProperty("steps").GetInt64());
        Assert.Equal(2, results.RootElement.GetProperty("a2v").GetProperty("R@10").GetProperty("acc").GetArrayLength());
    }
}
