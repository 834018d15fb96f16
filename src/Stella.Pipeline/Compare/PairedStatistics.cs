using MathNet.Numerics.Distributions;
using MathNet.Numerics.Statistics;

namespace Stella.Pipeline.Compare;

/// <summary>A 95% interval of a difference (method - reference).</summary>
public readonly record struct Interval(double Lo, double Hi)
{
    /// <summary>Whether the whole interval lies on the side of a better method (above 0 for A, below 0 for F).</summary>
    public bool Better(bool higherIsBetter) => higherIsBetter ? Lo > 0 : Hi < 0;

    /// <summary>Whether the whole interval lies on the side of a worse method.</summary>
    public bool Worse(bool higherIsBetter) => higherIsBetter ? Hi < 0 : Lo > 0;
}

/// <summary>One figure of one method paired against the reference, over the seeds.</summary>
/// <param name="Method">The method compared.</param>
/// <param name="Metric">Direction, k and figure, e.g. "a2v R@1 A" or "v2a avg F".</param>
/// <param name="HigherIsBetter">True for A, false for F.</param>
/// <param name="MeanDiff">Mean over seeds of (method - reference); NaN where no seed has the figure (F of a joint stream).</param>
/// <param name="OverSeeds">Student-t 95% interval of the per-seed differences; null for fewer than 2 seeds.</param>
/// <param name="Bootstrap">Paired bootstrap 95% percentile interval over retrieval clips; null where a run lacks comparable ranks.</param>
/// <param name="Wins">Seeds where the method is strictly better than the reference.</param>
/// <param name="N">Seeds with the figure.</param>
/// <param name="Verdict">"better", "worse", "not separable" (see <see cref="PairedStatistics.Verdict"/>), or "n/a" without data.</param>
public sealed record PairedRow(string Method, string Metric, bool HigherIsBetter, double MeanDiff, Interval? OverSeeds, Interval? Bootstrap, int Wins, int N, string Verdict);

/// <summary>
/// Paired comparison of a method against a reference over seeds: every method of one seed sees the same clips, in the same order,
/// from the same initial weights, so the per-seed difference (method - reference) removes most of what varies between seeds and
/// between clip sets. Pure functions over <see cref="RunResults"/>.
/// </summary>
public static class PairedStatistics
{
    /// <summary>Bootstrap resamples.</summary>
    public const int Resamples = 2000;

    /// <summary>
    /// The bootstrap's fixed seed: each run seed's resampled clip indices come from <c>new Random(BootstrapSeed + seed)</c>, the
    /// same for every method of that seed and for every call, so compare.md is a function of the runs.
    /// </summary>
    public const int BootstrapSeed = 20_150_000;

    /// <summary>Confidence level of both intervals.</summary>
    public const double Level = 0.95;

    /// <summary>Retrieval directions, in table order.</summary>
    public static readonly string[] Directions = ["a2v", "v2a"];

    /// <summary>The R@k entries of results.json and their mean, in table order.</summary>
    public static readonly string[] Ks = ["R@1", "R@5", "R@10", "avg"];

    /// <summary>Every figure compared, in table order: per direction, per k, A then F.</summary>
    public static IReadOnlyList<(string Name, string Direction, string K, bool Forgetting)> Metrics { get; } =
        Directions.SelectMany(d => Ks.SelectMany(k => new[] { ($"{d} {k} A", d, k, false), ($"{d} {k} F", d, k, true) })).ToList();

    /// <summary>A figure of one run (NaN where results.json has none: F of a joint stream).</summary>
    public static double Value(RunResults run, string direction, string k, bool forgetting) =>
        Value(direction == "a2v" ? run.A2V : run.V2A, k, forgetting);

    /// <summary>Student-t 95% interval of the mean of <paramref name="differences"/> (n - 1 degrees of freedom); null for n &lt; 2.</summary>
    public static Interval? OverSeeds(IReadOnlyList<double> differences)
    {
        var n = differences.Count;
        if (n < 2)
        {
            return null;
        }

        var mean = differences.Average();
        var sd = Math.Sqrt(differences.Sum(d => (d - mean) * (d - mean)) / (n - 1));
        // MathNet.Numerics (a maintained numerics library) for the t quantile rather than a hand-written table.
        var half = StudentT.InvCDF(0, 1, n - 1, 1 - ((1 - Level) / 2)) * sd / Math.Sqrt(n);
        return new Interval(mean - half, mean + half);
    }

    /// <summary>Seeds on which the method is strictly better: a positive difference for A, a negative one for F.</summary>
    public static int Wins(IReadOnlyList<double> differences, bool higherIsBetter) =>
        differences.Count(d => higherIsBetter ? d > 0 : d < 0);

    /// <summary>
    /// "better" when every available interval excludes 0 on the better side, "worse" when every one excludes it on the worse side,
    /// else "not separable" (also when neither interval exists: one seed and no ranks).
    /// </summary>
    public static string Verdict(Interval? overSeeds, Interval? bootstrap, bool higherIsBetter)
    {
        var available = new[] { overSeeds, bootstrap }.Where(i => i is not null).Select(i => i!.Value).ToList();
        return available.Count == 0 ? "not separable"
            : available.All(i => i.Better(higherIsBetter)) ? "better"
            : available.All(i => i.Worse(higherIsBetter)) ? "worse"
            : "not separable";
    }

    /// <summary>
    /// Paired bootstrap over retrieval clips: per resample, each seed's queries of each task are drawn with replacement (the same
    /// indices for the method and the reference, and for every evaluation of the run, so a clip stays the same clip), A and F of
    /// both runs are recomputed from the resampled ranks as the run computes them (<see cref="Results.ScoresFromRanks"/>), and
    /// the per-seed differences are averaged over seeds; the interval is the 2.5% and 97.5% percentiles over
    /// <paramref name="resamples"/> resamples. Null when a pair of runs lacks ranks or their ranks are not over the same clips; a
    /// figure some seed lacks (F of a joint stream) is left out of the result.
    /// </summary>
    public static IReadOnlyDictionary<string, Interval>? Bootstrap(IReadOnlyList<(int Seed, RunResults Method, RunResults Reference)> pairs, int resamples = Resamples)
    {
        if (pairs.Count == 0 || resamples < 1 || pairs.Any(p => !Comparable(p.Method, p.Reference)))
        {
            return null;
        }

        var sums = Metrics.ToDictionary(m => m.Name, _ => new double[resamples]);
        foreach (var (seed, method, reference) in pairs)
        {
            var rng = new Random(unchecked(BootstrapSeed + seed));
            var clips = method.Ranks!.Clips;
            for (var b = 0; b < resamples; b++)
            {
                var draw = clips.Select(task => Enumerable.Range(0, task.Length).Select(_ => rng.Next(task.Length)).ToArray()).ToArray();
                var scores = Directions.ToDictionary(d => d, d => (Method: Resampled(method, d, draw), Reference: Resampled(reference, d, draw)));
                foreach (var (name, direction, k, forgetting) in Metrics)
                {
                    var (m, r) = scores[direction];
                    sums[name][b] += Value(m, k, forgetting) - Value(r, k, forgetting);
                }
            }
        }

        var intervals = new Dictionary<string, Interval>();
        foreach (var (name, values) in sums)
        {
            if (values.All(double.IsFinite))
            {
                var means = values.Select(v => v / pairs.Count).ToArray();
                var tail = (1 - Level) / 2;
                intervals[name] = new Interval(
                    Statistics.QuantileCustom(means, tail, QuantileDefinition.R7), Statistics.QuantileCustom(means, 1 - tail, QuantileDefinition.R7));
            }
        }

        return intervals;
    }

    /// <summary>Every figure of <paramref name="method"/> against the reference over the paired seeds.</summary>
    public static List<PairedRow> Compare(string method, IReadOnlyList<(int Seed, RunResults Method, RunResults Reference)> pairs, int resamples = Resamples)
    {
        var bootstrap = Bootstrap(pairs, resamples);
        var rows = new List<PairedRow>();
        foreach (var (name, direction, k, forgetting) in Metrics)
        {
            var higher = !forgetting;
            var differences = pairs.Select(p => Value(p.Method, direction, k, forgetting) - Value(p.Reference, direction, k, forgetting)).Where(double.IsFinite).ToList();
            if (differences.Count == 0)
            {
                rows.Add(new PairedRow(method, name, higher, double.NaN, null, null, 0, 0, "n/a"));
                continue;
            }

            // A seed without the figure leaves the bootstrap's mean over seeds undefined: use it only when every seed has it.
            Interval? boot = differences.Count == pairs.Count && bootstrap is not null && bootstrap.TryGetValue(name, out var i) ? i : null;
            var seeds = OverSeeds(differences);
            rows.Add(new PairedRow(method, name, higher, differences.Average(), seeds, boot, Wins(differences, higher), differences.Count, Verdict(seeds, boot, higher)));
        }

        return rows;
    }

    /// <summary>Whether two runs hold ranks over the same clips, tasks and evaluations (what the paired bootstrap needs).</summary>
    public static bool Comparable(RunResults a, RunResults b)
    {
        if (a.Ranks is not { } ra || b.Ranks is not { } rb || a.Tasks.Count != b.Tasks.Count || ra.Clips.Count != rb.Clips.Count
            || ra.Clips.Zip(rb.Clips).Any(p => !p.First.SequenceEqual(p.Second, StringComparer.Ordinal)))
        {
            return false;
        }

        bool Shaped(RunRanks r, IReadOnlyList<int[][]> ranks) =>
            ranks.Count > 0 && ranks.All(e => e.Length == r.Clips.Count && e.Zip(r.Clips).All(p => p.First.Length == p.Second.Length));
        return ra.A2V.Count == rb.A2V.Count && Directions.All(d => Shaped(ra, ra.Of(d)) && Shaped(rb, rb.Of(d)) && ra.Of(d).Count == rb.Of(d).Count);
    }

    private static double Value(IReadOnlyDictionary<string, RecallScores> scores, string k, bool forgetting) =>
        forgetting ? scores[k].F ?? double.NaN : scores[k].A;

    private static IReadOnlyDictionary<string, RecallScores> Resampled(RunResults run, string direction, int[][] draw) =>
        Results.ScoresFromRanks(run.Ranks!.Of(direction).Select(e => e.Select((task, t) => draw[t].Select(q => task[q]).ToArray()).ToArray()).ToList(), run.Tasks.Count);
}
