using System.Globalization;
using System.Text.Json;
using Stella.Pipeline;

namespace Stella.Bench;

/// <summary>
/// The default stream-train job twice: end to end (decode in the graph, as <c>make stream-train</c> runs it) and training-only
/// (every clip decoded before the clock starts, so the learner trains on pre-built batches with the same seeds and windows).
/// Prints trainer busy % of the end-to-end run (target >= 90%) and end-to-end / training-only samples/s (target >= 0.9), and checks
/// that both runs reached the same retrieval numbers. Asserts nothing.
/// </summary>
internal static class StreamBench
{
    public static async Task RunAsync(string config)
    {
        Console.WriteLine($"stream-train data path: {config} end to end vs training-only (two full runs, about 10 minutes on 2 cores)");
        var figures = new List<RunResults>();
        foreach (var prebuilt in new[] { false, true })
        {
            var job = StreamTrainConfig.Load(config);
            var outDir = Path.Combine(Path.GetTempPath(), $"stella-bench-stream-{Environment.ProcessId}-{(prebuilt ? "prebuilt" : "e2e")}");
            if (Directory.Exists(outDir))
            {
                Directory.Delete(outDir, recursive: true);
            }

            var results = await new StreamTrainJob(job, outDir, _ => { }) { PrebuildFeatures = prebuilt }.RunAsync(false, CancellationToken.None);
            var root = RunResults.Read(results);
            figures.Add(root);
            var e = root.Efficiency;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {(prebuilt ? "training-only" : "end to end"),-14} {e.SamplesPerSecond,6:0.00} samples/s  step {e.StepMilliseconds,6:0} ms  trainer busy {e.TrainerBusyPercent,5:0.0} %  peak RSS {e.PeakRssMb:0} MB  a2v R@10 A {root.A2V["R@10"].A:0.0}"));
            Directory.Delete(outDir, recursive: true);
        }

        double Rate(RunResults r) => r.Efficiency.SamplesPerSecond ?? double.NaN;
        string Json(object o) => System.Text.Json.JsonSerializer.Serialize(o);
        var same = Json(figures[0].A2V) == Json(figures[1].A2V) && Json(figures[0].V2A) == Json(figures[1].V2A);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  end-to-end / training-only samples/s: {Rate(figures[0]) / Rate(figures[1]):0.00} (target >= 0.9); trainer busy end to end {figures[0].Efficiency.TrainerBusyPercent:0.0} % (target >= 90); retrieval identical: {same}"));
    }
}
