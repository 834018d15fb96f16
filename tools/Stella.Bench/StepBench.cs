using System.Diagnostics;
using System.Globalization;
using Stella.Model;
using Stella.Model.Config;
using TorchSharp;

namespace Stella.Bench;

/// <summary>
/// Training-step benchmark: one backbone step on full patches (as DER++ trains) against one STELLA step at rho 0.5 (AVM scoring,
/// selection, backbone step, AVM step), for the tiny and base presets. Each case runs in its own process so that its peak
/// memory (VmHWM) is its own. Prints figures; asserts nothing.
/// </summary>
internal static class StepBench
{
    public static int RunAll()
    {
        Stella.Model.Runtime.TorchRuntime.Initialize();
        Console.WriteLine($"training-step benchmark: CPU, {Environment.ProcessorCount} cores, torch threads {torch.get_num_threads()}");
        foreach (var (preset, batch) in new[] { ("tiny", 16), ("base", 2) })
        {
            var full = Child(preset, "full", batch);
            var stella = Child(preset, "stella", batch);
            if (full is null || stella is null)
            {
                continue;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{preset,-5} B={batch,-3} full (DER++-style): {full.Value.Ms,8:0.0} ms/step, peak RSS {full.Value.PeakMb,7:0} MB (+{full.Value.StepMb,6:0} MB over the loaded model) | " +
                $"STELLA rho 0.5: {stella.Value.Ms,8:0.0} ms/step, peak RSS {stella.Value.PeakMb,7:0} MB (+{stella.Value.StepMb,6:0} MB) | " +
                $"time ratio {stella.Value.Ms / full.Value.Ms:0.00} (target <= 0.80), step-memory ratio {stella.Value.StepMb / full.Value.StepMb:0.00} (target <= 0.55)"));
        }

        return 0;
    }

    /// <summary>Runs one case in this process and prints "ms peakMb stepMb".</summary>
    public static int RunOne(string preset, string mode, int batch, int steps)
    {
        var config = ModelConfig.Preset(preset);
        using var trainer = new ModelTrainer(config);
        var audio = torch.randn(batch, config.AudioTokens, config.AudioPatchDim);
        var video = torch.randn(batch, config.VideoTokens, config.VideoPatchDim);
        var before = MemoryMb("VmRSS");
        (torch.Tensor, torch.Tensor)? past = null;
        void Step()
        {
            if (mode == "full")
            {
                trainer.StepFull(audio, video);
                return;
            }

            var r = trainer.StepStella(audio, video, past);
            past = (r.Scores!.QueryAudio.roll(1, 0), r.Scores.QueryVideo.roll(1, 0));
        }

        Step(); // first step: optimizer state, first-step selection rule
        Step();
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < steps; i++)
        {
            Step();
        }

        var ms = watch.Elapsed.TotalMilliseconds / steps;
        var peak = MemoryMb("VmHWM");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{ms:0.000} {peak:0.0} {peak - before:0.0}"));
        return 0;
    }

    private static (double Ms, double PeakMb, double StepMb)? Child(string preset, string mode, int batch)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { typeof(StepBench).Assembly.Location, "step-one", preset, mode, batch.ToString(CultureInfo.InvariantCulture), preset == "base" ? "3" : "10" })
        {
            start.ArgumentList.Add(a);
        }

        using var p = Process.Start(start)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        var last = output.Trim().Split('\n').LastOrDefault()?.Split(' ');
        if (p.ExitCode != 0 || last is not { Length: 3 })
        {
            Console.WriteLine($"{preset} {mode}: failed (exit {p.ExitCode}): {error.Trim().Split('\n').FirstOrDefault()}");
            return null;
        }

        return (double.Parse(last[0], CultureInfo.InvariantCulture), double.Parse(last[1], CultureInfo.InvariantCulture), double.Parse(last[2], CultureInfo.InvariantCulture));
    }

    private static double MemoryMb(string field) => Stella.Core.Diagnostics.ProcessMemory.StatusMb(field) ?? double.NaN;
}
