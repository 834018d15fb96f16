using System.Globalization;
using System.Text;
using System.Text.Json;
using Stella.Continual.Learning;
using Stella.Core.Manifests;
using Stella.Core.Metrics;

namespace Stella.Pipeline;

/// <summary>Writes results.json (for tools) and report.md (for people) from a run's evaluations.</summary>
public static class Results
{
    /// <summary>Writes both files into <paramref name="outDir"/>; returns the path of results.json.</summary>
    public static string Write(string outDir, StreamTrainConfig config, ClipManifest manifest, Learner learner, RunState state, int quarantined)
    {
        var evals = state.Evaluations;
        var taskNames = manifest.Tasks.Tasks.Select(t => t.Name).ToList();
        var square = evals.Count == taskNames.Count;
        object Direction(Func<Evaluation, double[][]> pick)
        {
            var byK = new Dictionary<string, object>();
            var a = new List<double>();
            var f = new List<double>();
            for (var k = 0; k < Evaluator.Ks.Length; k++)
            {
                var acc = evals.Select(e => pick(e).Select(row => Math.Round(row[k], 3)).ToArray()).ToArray();
                var average = square ? ContinualScores.Average(acc) : acc[^1].Average();
                double? forgetting = square ? ContinualScores.Forgetting(acc) : null;
                a.Add(average);
                if (forgetting is { } fv)
                {
                    f.Add(fv);
                }

                byK[$"R@{Evaluator.Ks[k]}"] = new { acc, A = Math.Round(average, 3), F = forgetting is null ? (double?)null : Math.Round(forgetting.Value, 3) };
            }

            byK["avg"] = new { A = Math.Round(a.Average(), 3), F = f.Count == 0 ? (double?)null : Math.Round(f.Average(), 3) };
            return byK;
        }

        var results = new
        {
            method = learner.Name,
            seed = config.Seed,
            model = config.Model,
            tasks = taskNames,
            evaluated_after = learner.NeedsJointStream ? ["all tasks (joint stream)"] : taskNames.Take(evals.Count).ToList(),
            a2v = Direction(e => e.A2V),
            v2a = Direction(e => e.V2A),
            modality_gap = evals.Select(e => e.Gap.Select(g => Math.Round(g, 4)).ToArray()).ToArray(),
            modality_gap_final = evals.Count == 0 ? [] : evals[^1].Gap.Select(g => Math.Round(g, 4)).ToArray(),
            localization = evals.Select(e => e.Localization.Select(l => l is null ? (double?)null : Math.Round(l.Value, 2)).ToArray()).ToArray(),
            efficiency = new
            {
                samples_per_s = Math.Round(state.TrainClips / Math.Max(1e-9, state.TrainSeconds), 3),
                step_ms = Math.Round(state.StepMilliseconds / Math.Max(1, state.Steps), 1),
                peak_rss_mb = Math.Round(PeakRssMb(), 1),
                peak_tensor_mb = (double?)null,
                trainer_busy_percent = Math.Round(100 * state.StepMilliseconds / 1000 / Math.Max(1e-9, state.TrainSeconds), 1),
                steps = learner.Steps,
                train_clips = state.TrainClips,
                memory_items = learner.Memory?.Count,
                memory_item_bytes = learner.ItemBytes,
            },
            quarantined,
            config_hash = config.Hash(),
        };
        var path = Path.Combine(outDir, "results.json");
        File.WriteAllText(path, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllText(Path.Combine(outDir, "report.md"), Report(learner.Name, taskNames, evals, results.efficiency.samples_per_s, quarantined));
        return path;
    }

    private static string Report(string method, List<string> tasks, List<Evaluation> evals, double samplesPerSecond, int quarantined)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"# stream-train report: {method}\n\n");
        foreach (var (name, pick) in new (string, Func<Evaluation, double[][]>)[] { ("audio -> video", e => e.A2V), ("video -> audio", e => e.V2A) })
        {
            sb.Append(CultureInfo.InvariantCulture, $"## Zero-shot retrieval R@10, {name} (row: after training task; column: task evaluated)\n\n| after \\ task | {string.Join(" | ", tasks)} |\n|---|{string.Concat(tasks.Select(_ => "---|"))}\n");
            for (var t = 0; t < evals.Count; t++)
            {
                sb.Append(CultureInfo.InvariantCulture, $"| {(t < tasks.Count ? tasks[t] : "all")} | {string.Join(" | ", pick(evals[t]).Select(r => r[2].ToString("0.0", CultureInfo.InvariantCulture)))} |\n");
            }

            sb.Append('\n');
        }

        if (evals.Count > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"Modality gap after the last task, per task: {string.Join(", ", evals[^1].Gap.Select(g => g.ToString("0.000", CultureInfo.InvariantCulture)))}\n\n");
            sb.Append(CultureInfo.InvariantCulture, $"Localization after the last task, per task (%): {string.Join(", ", evals[^1].Localization.Select(l => l?.ToString("0.0", CultureInfo.InvariantCulture) ?? "n/a"))}\n\n");
        }

        sb.Append(CultureInfo.InvariantCulture, $"Training throughput: {samplesPerSecond:0.00} clips/s. Quarantined clips: {quarantined} (see quarantine.csv).\n");
        return sb.ToString();
    }

    private static double PeakRssMb()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? double.NaN : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }
}
