using System.Globalization;
using System.Text;
using Stella.Continual.Learning;
using Stella.Core.Manifests;
using Stella.Core.Metrics;
using Stella.Pipeline.Reports;

namespace Stella.Pipeline;

/// <summary>Writes results.json (for tools) and report.md (for people) from a run's evaluations.</summary>
public static class Results
{
    /// <summary>Writes both files into <paramref name="outDir"/>; returns the path of results.json.</summary>
    public static string Write(string outDir, StreamTrainConfig config, ClipManifest manifest, Learner learner, RunState state, int quarantined)
    {
        var results = Build(config, manifest, learner, state, quarantined);
        var evals = state.Evaluations;
        var taskNames = results.Tasks.ToList();
        var square = evals.Count == taskNames.Count;
        var path = Path.Combine(outDir, "results.json");
        results.Write(path);
        var plots = Directory.CreateDirectory(Path.Combine(outDir, "plots")).FullName;
        if (square)
        {
            Plots.AccuracyHeatmap(Path.Combine(plots, "acc_a2v_R10.png"), evals.Select(e => e.A2V.Select(r => r[2]).ToArray()).ToArray(), taskNames, $"{learner.Name}: audio->video R@10 (%)");
            Plots.AccuracyHeatmap(Path.Combine(plots, "acc_v2a_R10.png"), evals.Select(e => e.V2A.Select(r => r[2]).ToArray()).ToArray(), taskNames, $"{learner.Name}: video->audio R@10 (%)");
        }

        Plots.GapOverTasks(Path.Combine(plots, "modality_gap.png"), new Dictionary<string, double[]> { [learner.Name] = SeenGap(evals) }, "modality gap over tasks");
        File.WriteAllText(Path.Combine(outDir, "report.md"), Report(learner.Name, config, taskNames, evals, results.Efficiency.SamplesPerSecond ?? double.NaN, quarantined, square));
        return path;
    }

    /// <summary>The results of a finished run.</summary>
    public static RunResults Build(StreamTrainConfig config, ClipManifest manifest, Learner learner, RunState state, int quarantined)
    {
        var evals = state.Evaluations;
        var taskNames = manifest.Tasks.Tasks.Select(t => t.Name).ToList();
        double?[] Finite(IEnumerable<double> values, int digits) => values.Select(v => RunResults.Finite(v, digits)).ToArray();
        static double?[] Percent(double?[] values) => values.Select(l => l is null ? null : RunResults.Finite(l.Value, 2)).ToArray();
        var trainSeconds = Math.Max(1e-9, state.TrainSeconds);
        return new RunResults
        {
            Method = learner.Name,
            Seed = config.Seed,
            Model = config.Model,
            Tasks = taskNames,
            EvaluatedAfter = learner.NeedsJointStream ? ["all tasks (joint stream)"] : taskNames.Take(evals.Count).ToList(),
            A2V = Scores(evals.Select(e => e.A2V).ToList(), taskNames.Count),
            V2A = Scores(evals.Select(e => e.V2A).ToList(), taskNames.Count),
            ModalityGap = evals.Select(e => Finite(e.Gap, 4)).ToList(),
            ModalityGapSeen = evals.Select(e => RunResults.Finite(e.SeenGap(), 4)).ToList(),
            ModalityGapFinal = evals.Count == 0 ? [] : Finite(evals[^1].Gap, 4),
            Localization = evals.Select(e => Percent(e.Localization)).ToList(),
            LocalizationAvm = evals.Count > 0 && evals.All(e => e.LocalizationAvm is not null) ? evals.Select(e => Percent(e.LocalizationAvm!)).ToList() : null,
            LocalizationCosine = evals.Count > 0 && evals.All(e => e.LocalizationCosine is not null) ? evals.Select(e => Percent(e.LocalizationCosine!)).ToList() : null,
            LinearProbe = evals.All(e => e.Probe is not null) && evals.Count > 0 ? evals.Select(e => Finite(e.Probe!, 2)).ToList() : null,
            Efficiency = new RunEfficiency
            {
                SamplesPerSecond = RunResults.Finite(state.TrainClips / trainSeconds, 3),
                StepMilliseconds = RunResults.Finite(state.StepMilliseconds / Math.Max(1, state.Steps), 1),
                PeakRssMb = state.PeakRssMb is { } peak ? Math.Round(peak, 1) : null,
                PeakTensorMb = null,
                ModelStateMb = Math.Round(4.0 * learner.Trainer.Backbone.parameters().Concat(learner.Trainer.Avm.parameters()).Sum(p => p.numel() * p.element_size()) / (1024 * 1024), 1),
                TrainerBusyPercent = RunResults.Finite(100 * state.StepMilliseconds / 1000 / trainSeconds, 1),
                Steps = learner.Steps,
                TrainClips = state.TrainClips,
                MemoryItems = learner.Memory?.Count,
                MemoryItemBytes = learner.ItemBytes,
                ExtraModelsMb = Math.Round(learner.ExtraModelBytes / (1024.0 * 1024), 1),
            },
            Quarantined = quarantined,
            ConfigHash = config.Hash(),
            Ranks = RunRanks.From(evals),
        };
    }

    /// <summary>
    /// One direction's results.json entry from its R@k per evaluation and task (<paramref name="recalls"/>: [evaluation][task][k],
    /// k as in <see cref="Evaluator.Ks"/>): per k the accuracy matrix (rounded to 3 digits), A (mean over tasks after the last
    /// evaluation) and F (<see cref="ContinualScores.Forgetting"/>; null unless there is one evaluation per task), and their mean
    /// over k as "avg".
    /// </summary>
    public static IReadOnlyDictionary<string, RecallScores> Scores(IReadOnlyList<double[][]> recalls, int tasks)
    {
        var square = recalls.Count == tasks;
        var byK = new Dictionary<string, RecallScores>();
        var a = new List<double>();
        var f = new List<double>();
        for (var k = 0; k < Evaluator.Ks.Length; k++)
        {
            var acc = recalls.Select(e => e.Select(row => Math.Round(row[k], 3)).ToArray()).ToArray();
            var average = square ? ContinualScores.Average(acc) : acc[^1].Average();
            double? forgetting = square ? ContinualScores.Forgetting(acc) : null;
            a.Add(average);
            if (forgetting is { } fv)
            {
                f.Add(fv);
            }

            byK[$"R@{Evaluator.Ks[k]}"] = new RecallScores { Acc = acc, A = Math.Round(average, 3), F = forgetting is null ? null : Math.Round(forgetting.Value, 3) };
        }

        byK["avg"] = new RecallScores { A = Math.Round(a.Average(), 3), F = f.Count == 0 ? null : Math.Round(f.Average(), 3) };
        return byK;
    }

    /// <summary>
    /// <see cref="Scores"/> recomputed from stored query ranks ([evaluation][task][query]) exactly as the run computed it: R@k of
    /// each task's ranks by <see cref="Evaluator.Recalls"/>, then the same A and F.
    /// </summary>
    public static IReadOnlyDictionary<string, RecallScores> ScoresFromRanks(IReadOnlyList<int[][]> ranks, int tasks) =>
        Scores(ranks.Select(e => e.Select(Evaluator.Recalls).ToArray()).ToList(), tasks);

    /// <summary>Mean modality gap over the tasks seen so far, after each task.</summary>
    public static double[] SeenGap(IReadOnlyList<Evaluation> evals) =>
        evals.Select(e => e.SeenGap()).ToArray();

    private static string Report(string method, StreamTrainConfig config, List<string> tasks, List<Evaluation> evals, double samplesPerSecond, int quarantined, bool square)
    {
        var sb = new StringBuilder();
        string F(double v) => double.IsFinite(v) ? v.ToString("0.0", CultureInfo.InvariantCulture) : "n/a";
        sb.Append(CultureInfo.InvariantCulture, $"# stream-train report: {method}\n\n{config.Model} model, seed {config.Seed}, batch {config.BatchSize}, {config.EpochsPerTask} pass(es) per task, memory {(config.MemoryItems is { } items ? $"{items} items" : $"{config.MemoryMib} MiB")}.\n\n");
        if (square && evals.Count > 0)
        {
            sb.Append("## Summary (thesis Table 2.1 layout: A = mean over tasks after the last task, F = forgetting; avg = mean over R@1/5/10)\n\n");
            sb.Append("| direction | R@1 A | R@1 F | R@5 A | R@5 F | R@10 A | R@10 F | avg A | avg F |\n|---|---|---|---|---|---|---|---|---|\n");
            foreach (var (name, pick) in new (string, Func<Evaluation, double[][]>)[] { ("a->v", e => e.A2V), ("v->a", e => e.V2A) })
            {
                var cells = new List<double>();
                for (var k = 0; k < Evaluator.Ks.Length; k++)
                {
                    var acc = evals.Select(e => pick(e).Select(r => r[k]).ToArray()).ToArray();
                    cells.Add(ContinualScores.Average(acc));
                    cells.Add(ContinualScores.Forgetting(acc));
                }

                cells.Add((cells[0] + cells[2] + cells[4]) / 3);
                cells.Add((cells[1] + cells[3] + cells[5]) / 3);
                sb.Append(CultureInfo.InvariantCulture, $"| {name} | {string.Join(" | ", cells.Select(F))} |\n");
            }

            sb.Append('\n');
        }

        foreach (var (name, pick, file) in new (string, Func<Evaluation, double[][]>, string)[] { ("audio -> video", e => e.A2V, "acc_a2v_R10.png"), ("video -> audio", e => e.V2A, "acc_v2a_R10.png") })
        {
            sb.Append(CultureInfo.InvariantCulture, $"## Zero-shot retrieval R@10, {name} (row: after training task; column: task evaluated)\n\n| after \\ task | {string.Join(" | ", tasks)} |\n|---|{string.Concat(tasks.Select(_ => "---|"))}\n");
            for (var t = 0; t < evals.Count; t++)
            {
                sb.Append(CultureInfo.InvariantCulture, $"| {(t < tasks.Count ? tasks[t] : "all")} | {string.Join(" | ", pick(evals[t]).Select(r => F(r[2])))} |\n");
            }

            sb.Append(square ? $"\n![{name} R@10](plots/{file})\n\n" : "\n");
        }

        if (evals.Count > 0)
        {
            sb.Append("## Modality gap (mean over the tasks seen so far)\n\n");
            sb.Append(CultureInfo.InvariantCulture, $"After each task: {string.Join(", ", SeenGap(evals).Select(g => g.ToString("0.000", CultureInfo.InvariantCulture)))}. Per task after the last: {string.Join(", ", evals[^1].Gap.Select(g => g.ToString("0.000", CultureInfo.InvariantCulture)))}.\n\n![modality gap](plots/modality_gap.png)\n\n");
            if (evals.Any(e => e.Localization.Any(l => l is not null)))
            {
                sb.Append(CultureInfo.InvariantCulture, $"## Localization accuracy (%: top-attended video patch inside the source box at sounding frames)\n\n| after \\ task | {string.Join(" | ", tasks)} |\n|---|{string.Concat(tasks.Select(_ => "---|"))}\n");
                for (var t = 0; t < evals.Count; t++)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"| {(t < tasks.Count ? tasks[t] : "all")} | {string.Join(" | ", evals[t].Localization.Select(l => l is null ? "n/a" : F(l.Value)))} |\n");
                }

                sb.Append('\n');
            }

            if (evals.All(e => e.Probe is not null))
            {
                sb.Append(CultureInfo.InvariantCulture, $"## Linear probe on frozen embeddings (% of each task's retrieval clips classified right among all classes)\n\n| after \\ task | {string.Join(" | ", tasks)} |\n|---|{string.Concat(tasks.Select(_ => "---|"))}\n");
                for (var t = 0; t < evals.Count; t++)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"| {(t < tasks.Count ? tasks[t] : "all")} | {string.Join(" | ", evals[t].Probe!.Select(F))} |\n");
                }

                sb.Append('\n');
            }

            sb.Append("## Attention (red: AVM importance, or cosine to the audio embedding for learners without an AVM; yellow: top patch; green: source box)\n\n");
            for (var t = 0; t < evals.Count; t++)
            {
                sb.Append(CultureInfo.InvariantCulture, $"After task {t}: ![attention after task {t}](plots/attention_after_task{t}.png)\n\n");
            }
        }

        sb.Append(CultureInfo.InvariantCulture, $"Training throughput: {samplesPerSecond:0.00} clips/s. Quarantined clips: {quarantined} (see quarantine.csv). Scalars and attention images: metrics.jsonl, and TensorBoard event files in tensorboard/ (`tensorboard --logdir tensorboard` in this folder).\n");
        return sb.ToString();
    }
}
