using System.Text.Json;
using Stella.Pipeline.Compare;

namespace Stella.Pipeline.Tests;

/// <summary>Finished runs made up for the compare tests, written through the contract type (<see cref="RunResults"/>).</summary>
internal static class FakeRuns
{
    /// <summary>Every k (and avg) with the same A and F.</summary>
    public static Dictionary<string, RecallScores> Scores(double a, double f) =>
        new[] { "R@1", "R@5", "R@10", "avg" }.ToDictionary(k => k, _ => new RecallScores { A = a, F = f });

    /// <summary>A run of two tasks with the given scores and no ranks (a results.json written before ranks were kept).</summary>
    public static RunResults WithScores(string method, int seed, IReadOnlyDictionary<string, RecallScores> a2v, IReadOnlyDictionary<string, RecallScores> v2a) => new()
    {
        Method = method, Seed = seed, Model = "tiny", Tasks = ["a", "b"], EvaluatedAfter = ["a", "b"], A2V = a2v, V2A = v2a,
        ModalityGap = [[0.5, null], [0.4, 0.3]], ModalityGapSeen = [0.5, 0.35], ModalityGapFinal = [0.4, 0.3],
        Localization = [[50, null], [40, 60]],
        Efficiency = new RunEfficiency { SamplesPerSecond = 5, StepMilliseconds = 100, PeakRssMb = 1000, ModelStateMb = 20, MemoryItems = 63 },
        Quarantined = 0, ConfigHash = "0123456789abcdef",
    };

    /// <summary>
    /// A run whose stored A and F are what the run computes from <paramref name="a2v"/> ([evaluation][task][query]; v2a the same
    /// unless given), queries named by task and index (the same clips in every run made here).
    /// </summary>
    public static RunResults WithRanks(string method, int seed, int[][][] a2v, int[][][]? v2a = null)
    {
        v2a ??= a2v;
        var tasks = a2v[0].Length;
        var clips = Enumerable.Range(0, tasks).Select(t => Enumerable.Range(0, a2v[0][t].Length).Select(q => $"t{t}-q{q}").ToArray()).ToList();
        return WithScores(method, seed, Results.ScoresFromRanks(a2v, tasks), Results.ScoresFromRanks(v2a, tasks)) with
        {
            Ranks = new RunRanks { Clips = clips, A2V = a2v, V2A = v2a },
        };
    }

    /// <summary>The same ranks for every evaluation and task: [2 evaluations][2 tasks][queries].</summary>
    public static int[][][] Constant(int rank, int queries) =>
        Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, 2).Select(_ => Enumerable.Repeat(rank, queries).ToArray()).ToArray()).ToArray();

    /// <summary>Ranks 1..50 drawn from a fixed generator: [2 evaluations][2 tasks][queries].</summary>
    public static int[][][] Mixed(int seed, int queries)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, 2).Select(_ => Enumerable.Range(0, queries).Select(_ => rng.Next(1, 51)).ToArray()).ToArray()).ToArray();
    }

    /// <summary>Writes <paramref name="run"/> where compare keeps finished runs: outDir/runs/&lt;method&gt;-s&lt;seed&gt;/results.json.</summary>
    public static void Write(string outDir, RunResults run)
    {
        var dir = Path.Combine(outDir, "runs", $"{run.Method}-s{run.Seed}");
        Directory.CreateDirectory(dir);
        run.Write(Path.Combine(dir, "results.json"));
    }
}

public sealed class PairedStatisticsTests
{
    // Student-t 0.975 quantiles from a printed table (df 1 and 2): the check does not go through the library the code uses.
    private const double T1 = 12.706204736174698;
    private const double T2 = 4.302652729911275;

    private static List<(int, RunResults, RunResults)> Pairs(string method, double[] refA, double[] methodA, double[] refF, double[] methodF, double[] refV2A, double[] methodV2A) =>
        Enumerable.Range(0, refA.Length).Select(s => (s,
            FakeRuns.WithScores(method, s, FakeRuns.Scores(methodA[s], methodF[s]), FakeRuns.Scores(methodV2A[s], methodF[s])),
            FakeRuns.WithScores("der++", s, FakeRuns.Scores(refA[s], refF[s]), FakeRuns.Scores(refV2A[s], refF[s])))).ToList();

    [Fact]
    public void ThreeSeeds_KnownDifferences_GiveMeanTIntervalWinsAndVerdict()
    {
        // a2v A: differences 2, 3, 4 (mean 3, sd 1); F: -1, -2, -3 (mean -2, sd 1); v2a A: +2, -1, +3 (mixed sign).
        var pairs = Pairs("stella", [30, 40, 50], [32, 43, 54], [10, 10, 10], [9, 8, 7], [20, 20, 20], [22, 19, 23]);
        var rows = PairedStatistics.Compare("stella", pairs).ToDictionary(r => r.Metric);

        Assert.Equal(16, rows.Count);
        var a = rows["a2v R@10 A"];
        Assert.Equal(3, a.MeanDiff, 12);
        var half = T2 * 1 / Math.Sqrt(3);
        Assert.Equal(3 - half, a.OverSeeds!.Value.Lo, 6);
        Assert.Equal(3 + half, a.OverSeeds!.Value.Hi, 6);
        Assert.Null(a.Bootstrap); // no ranks in these runs
        Assert.Equal((3, 3, "better"), (a.Wins, a.N, a.Verdict));

        // F: the method forgets less on every seed, but three seeds with sd 1 do not exclude 0 at 95%.
        var f = rows["a2v R@10 F"];
        Assert.Equal(-2, f.MeanDiff, 12);
        Assert.Equal(-2 + half, f.OverSeeds!.Value.Hi, 6);
        Assert.True(f.OverSeeds.Value.Hi > 0);
        Assert.Equal((3, "not separable"), (f.Wins, f.Verdict));

        var mixed = rows["v2a avg A"];
        var sd = Math.Sqrt((Math.Pow(2 - (4.0 / 3), 2) + Math.Pow(-1 - (4.0 / 3), 2) + Math.Pow(3 - (4.0 / 3), 2)) / 2);
        Assert.Equal(4.0 / 3, mixed.MeanDiff, 12);
        Assert.Equal((4.0 / 3) - (T2 * sd / Math.Sqrt(3)), mixed.OverSeeds!.Value.Lo, 6);
        Assert.Equal((2, "not separable"), (mixed.Wins, mixed.Verdict));
    }

    [Fact]
    public void WorseOnEverySeed_WithTightDifferences_IsWorse()
    {
        var pairs = Pairs("finetune", [30, 40, 50], [20, 31, 39], [10, 10, 10], [14, 13, 15], [20, 20, 20], [20, 20, 20]);
        var rows = PairedStatistics.Compare("finetune", pairs).ToDictionary(r => r.Metric);
        Assert.Equal((0, "worse"), (rows["a2v R@1 A"].Wins, rows["a2v R@1 A"].Verdict));
        Assert.Equal((0, "worse"), (rows["a2v avg F"].Wins, rows["a2v avg F"].Verdict));
        // Equal on every seed: an interval of [0, 0] separates nothing.
        Assert.Equal((0.0, 0.0), (rows["v2a avg A"].OverSeeds!.Value.Lo, rows["v2a avg A"].OverSeeds!.Value.Hi));
        Assert.Equal("not separable", rows["v2a avg A"].Verdict);
    }

    [Fact]
    public void OneSeed_HasNoIntervalOverSeeds_AndWithoutRanksIsNotSeparable()
    {
        var pairs = Pairs("stella", [30], [45], [10], [2], [20], [20]);
        var a = PairedStatistics.Compare("stella", pairs).Single(r => r.Metric == "a2v avg A");
        Assert.Equal(15, a.MeanDiff, 12);
        Assert.Null(a.OverSeeds);
        Assert.Null(a.Bootstrap);
        Assert.Equal((1, 1, "not separable"), (a.Wins, a.N, a.Verdict));
        Assert.Null(PairedStatistics.OverSeeds([15.0]));
        // Two seeds: df 1.
        var two = PairedStatistics.OverSeeds([1.0, 3.0])!.Value;
        Assert.Equal(2 - (T1 * Math.Sqrt(2) / Math.Sqrt(2)), two.Lo, 6);
    }

    [Fact]
    public void OneSeed_WithRanks_TakesTheBootstrapForTheVerdict()
    {
        var pairs = new List<(int, RunResults, RunResults)> { (0, FakeRuns.WithRanks("stella", 0, FakeRuns.Constant(1, 6)), FakeRuns.WithRanks("der++", 0, FakeRuns.Constant(50, 6))) };
        var a = PairedStatistics.Compare("stella", pairs, resamples: 200).Single(r => r.Metric == "v2a R@5 A");
        Assert.Null(a.OverSeeds);
        Assert.Equal(new Interval(100, 100), a.Bootstrap);
        Assert.Equal("better", a.Verdict);
    }

    [Fact]
    public void Verdict_NeedsEveryAvailableIntervalOnTheSameSide()
    {
        Assert.Equal("better", PairedStatistics.Verdict(new Interval(0.1, 2), new Interval(0.5, 1), higherIsBetter: true));
        Assert.Equal("not separable", PairedStatistics.Verdict(new Interval(-0.1, 2), new Interval(0.5, 1), higherIsBetter: true));
        Assert.Equal("not separable", PairedStatistics.Verdict(new Interval(0.1, 2), new Interval(-0.5, -0.1), higherIsBetter: true));
        Assert.Equal("worse", PairedStatistics.Verdict(new Interval(0.1, 2), null, higherIsBetter: false));
        Assert.Equal("better", PairedStatistics.Verdict(null, new Interval(-3, -1), higherIsBetter: false));
        Assert.Equal("not separable", PairedStatistics.Verdict(null, null, higherIsBetter: true));
        Assert.Equal("not separable", PairedStatistics.Verdict(new Interval(0, 0), new Interval(0, 0), higherIsBetter: true));
    }

    [Fact]
    public void Bootstrap_IdenticalRuns_GiveZeroIntervals_BecauseTheResamplingIsPaired()
    {
        // Ranks spread over 1..50: an unpaired resampling of the method and the reference would give intervals of non-zero width.
        var pairs = Enumerable.Range(0, 3).Select(s => (s, FakeRuns.WithRanks("er", s, FakeRuns.Mixed(s, 12)), FakeRuns.WithRanks("der++", s, FakeRuns.Mixed(s, 12)))).ToList();
        var intervals = PairedStatistics.Bootstrap(pairs)!;
        Assert.Equal(16, intervals.Count);
        Assert.All(intervals.Values, i => Assert.Equal(new Interval(0, 0), i));
        Assert.All(PairedStatistics.Compare("er", pairs), r => Assert.Equal(("not separable", 0), (r.Verdict, r.Wins)));
    }

    [Fact]
    public void Bootstrap_EveryQueryFirstAgainstFiftieth_IsBetter()
    {
        var pairs = Enumerable.Range(0, 3).Select(s => (s, FakeRuns.WithRanks("stella", s, FakeRuns.Constant(1, 8)), FakeRuns.WithRanks("der++", s, FakeRuns.Constant(50, 8)))).ToList();
        var rows = PairedStatistics.Compare("stella", pairs).ToDictionary(r => r.Metric);
        foreach (var k in PairedStatistics.Ks)
        {
            var a = rows[$"a2v {k} A"];
            Assert.Equal((100.0, new Interval(100, 100), new Interval(100, 100), 3, "better"), (a.MeanDiff, a.OverSeeds!.Value, a.Bootstrap!.Value, a.Wins, a.Verdict));
            // Neither run forgets anything: F is the same.
            Assert.Equal((0.0, "not separable"), (rows[$"v2a {k} F"].MeanDiff, rows[$"v2a {k} F"].Verdict));
        }
    }

    [Fact]
    public void Bootstrap_ResamplesClips_WithinTheRangeTheClipsAllow_AndIsAFunctionOfTheRuns()
    {
        // One task, one evaluation, five clips: the method finds four of them at rank 1, the reference none. R@1 A differs by
        // 80 points on these clips; a resample can give anything from 0 to 100, in steps of 20.
        int[][][] Ranks(params int[] q) => [[q]];
        RunResults Run(string method, int[] q) => FakeRuns.WithScores(method, 0, Results.ScoresFromRanks(Ranks(q), 1), Results.ScoresFromRanks(Ranks(q), 1)) with
        {
            Tasks = ["a"], EvaluatedAfter = ["a"], Ranks = new RunRanks { Clips = [["c0", "c1", "c2", "c3", "c4"]], A2V = Ranks(q), V2A = Ranks(q) },
        };

        var pairs = new List<(int, RunResults, RunResults)> { (0, Run("stella", [1, 1, 1, 1, 50]), Run("der++", [50, 50, 50, 50, 50])) };
        var r1 = PairedStatistics.Bootstrap(pairs)!["a2v R@1 A"];
        Assert.InRange(r1.Lo, 20, 80);
        Assert.InRange(r1.Hi, 80, 100);
        Assert.True(r1.Lo < r1.Hi);
        Assert.Equal(r1, PairedStatistics.Bootstrap(pairs)!["a2v R@1 A"]);
        // A resample without a hit (five draws of the fifth clip) has probability 0.2^5: the 2.5% percentile stays above 0 (40).
        Assert.True(r1.Lo > 0);
        Assert.Equal("better", PairedStatistics.Compare("stella", pairs).Single(r => r.Metric == "a2v R@1 A").Verdict);
    }

    [Fact]
    public void Bootstrap_NeedsRanksOverTheSameClips()
    {
        var ranked = FakeRuns.WithRanks("er", 0, FakeRuns.Mixed(0, 4));
        var unranked = FakeRuns.WithScores("der++", 0, ranked.A2V, ranked.V2A);
        Assert.Null(PairedStatistics.Bootstrap([(0, ranked, unranked)]));
        var otherClips = FakeRuns.WithRanks("der++", 0, FakeRuns.Mixed(1, 4)) with
        {
            Ranks = ranked.Ranks! with { Clips = [["x0", "x1", "x2", "x3"], ["t1-q0", "t1-q1", "t1-q2", "t1-q3"]] },
        };
        Assert.False(PairedStatistics.Comparable(ranked, otherClips));
        Assert.Null(PairedStatistics.Bootstrap([(0, ranked, otherClips)]));
        Assert.True(PairedStatistics.Comparable(ranked, FakeRuns.WithRanks("der++", 0, FakeRuns.Mixed(1, 4))));
    }

    [Fact]
    public void Ranks_RecomputeTheStoredScores_AndOldFilesWithoutThemStillRead()
    {
        // Two evaluations over two tasks of three queries: R@k by hand, then A = mean of the last row, F = max drop of task 0.
        int[][][] ranks = [[[1, 3, 7], [2, 20, 1]], [[1, 12, 30], [1, 1, 6]]];
        var scores = Results.ScoresFromRanks(ranks, 2);
        Assert.Equal([[33.333, 33.333], [33.333, 66.667]], scores["R@1"].Acc!);
        Assert.Equal((50.0, 0.0), (scores["R@1"].A, scores["R@1"].F));
        Assert.Equal([[66.667, 66.667], [33.333, 66.667]], scores["R@5"].Acc!);
        Assert.Equal((50.0, 33.334), (scores["R@5"].A, scores["R@5"].F));
        Assert.Equal([[100.0, 66.667], [33.333, 100.0]], scores["R@10"].Acc!);
        Assert.Equal(66.667, scores["R@10"].F);
        Assert.Equal(33.334, scores["avg"].F);

        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "results.json");
        var run = FakeRuns.WithRanks("er", 0, ranks);
        run.Write(path);
        var back = RunResults.Read(path);
        Assert.Equal(ranks, back.Ranks!.A2V);
        Assert.Equal(run.Ranks!.Clips, back.Ranks.Clips);
        foreach (var direction in PairedStatistics.Directions)
        {
            var recomputed = Results.ScoresFromRanks(back.Ranks.Of(direction), back.Tasks.Count);
            var stored = direction == "a2v" ? back.A2V : back.V2A;
            Assert.All(PairedStatistics.Ks, k => Assert.Equal((stored[k].A, stored[k].F), (recomputed[k].A, recomputed[k].F)));
        }

        // A results.json of an older version has no "ranks": it reads, without them.
        var old = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(path))!;
        old.Remove("ranks");
        File.WriteAllText(path, JsonSerializer.Serialize(old));
        Assert.Null(RunResults.Read(path).Ranks);
    }

    [Fact]
    public void EvaluationRanks_SurviveTheCheckpointsRunState_AndOldRunStatesReadWithout()
    {
        // StreamTrainJob writes run_state.json with System.Text.Json's defaults (indented).
        var options = new JsonSerializerOptions { WriteIndented = true };
        var ranks = new QueryRanks([["c0", "c1"], ["c2"]], [[1, 4], [2]], [[3, 1], [1]]);
        var state = new RunState { Evaluations = [new Evaluation([[50, 100, 100], [0, 100, 100]], [[50, 50, 100], [100, 100, 100]], [0.5, 0.4], [null, 50.0], null, 1, ranks)] };
        var back = JsonSerializer.Deserialize<RunState>(JsonSerializer.Serialize(state, options), options)!;
        var got = back.Evaluations.Single().Ranks!;
        Assert.Equal(ranks.Clips, got.Clips);
        Assert.Equal(ranks.A2V, got.A2V);
        Assert.Equal(ranks.V2A, got.V2A);
        Assert.Equal(ranks.A2V, RunRanks.From(back.Evaluations)!.A2V.Single());

        // A checkpoint of an older version: its evaluations have no ranks; the run still reports, without ranks.
        var old = JsonSerializer.Serialize(state, options).Replace("\"Ranks\"", "\"Unknown\"", StringComparison.Ordinal);
        var oldState = JsonSerializer.Deserialize<RunState>(old, options)!;
        Assert.Null(oldState.Evaluations.Single().Ranks);
        Assert.Null(RunRanks.From([.. oldState.Evaluations, back.Evaluations.Single()]));
        Assert.Null(RunRanks.From([back.Evaluations.Single(), back.Evaluations.Single() with { Ranks = ranks with { Clips = [["c0", "c9"], ["c2"]] } }]));
    }
}
