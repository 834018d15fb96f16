using System.Text.Json;
using Stella.Pipeline.Compare;
using Stella.Pipeline.Reports;

namespace Stella.Pipeline.Tests;

public sealed class CompareTests
{
    static CompareTests() => Stella.Model.Runtime.TorchRuntime.Initialize();

    private static Dictionary<string, RecallScores> Direction(double a, double f) => new()
    {
        ["R@1"] = new() { A = a / 4, F = f / 4 }, ["R@5"] = new() { A = a / 2, F = f / 2 }, ["R@10"] = new() { A = a, F = f }, ["avg"] = new() { A = 7 * a / 12, F = 7 * f / 12 },
    };

    /// <summary>A finished run's results.json, written through the contract type the job writes it with.</summary>
    private static void FakeRun(string outDir, string method, int seed, double a, double f, double rate)
    {
        var dir = Path.Combine(outDir, "runs", $"{method}-s{seed}");
        Directory.CreateDirectory(dir);
        new RunResults
        {
            Method = method, Seed = seed, Model = "tiny", Tasks = ["a", "b"], EvaluatedAfter = ["a", "b"], A2V = Direction(a, f), V2A = Direction(a + 1, f + 1),
            ModalityGap = [[0.5, null], [0.4, 0.3]], ModalityGapSeen = [0.5, 0.35], ModalityGapFinal = [0.4, 0.3],
            Localization = [[50, null], [40, 60]],
            LinearProbe = [[80.0, 10], [70.0, 90]],
            Efficiency = new RunEfficiency { SamplesPerSecond = rate, StepMilliseconds = 100, PeakRssMb = 1000, ModelStateMb = 20, MemoryItems = 63 },
            Quarantined = 0, ConfigHash = "0123456789abcdef",
        }.Write(Path.Combine(dir, "results.json"));
    }

    [Fact]
    public async Task Compare_FinishedRuns_AreKept_AndTablesHoldMeanStdAndMarks()
    {
        var dir = TestData.TempDir();
        var config = Path.Combine(dir, "job.yaml");
        await File.WriteAllTextAsync(config, "name: t\nmanifest: missing/manifest.csv\n");
        // er: A 40/44 (mean 42, std 2.83); der++: A 30/30; stella: A 50/54 -> best stella, second er. F: lower is better.
        FakeRun(dir, "er", 1, 40, 10, 5);
        FakeRun(dir, "er", 2, 44, 12, 7);
        FakeRun(dir, "der++", 1, 30, 5, 6);
        FakeRun(dir, "der++", 2, 30, 5, 6);
        FakeRun(dir, "stella", 1, 50, 8, 4);
        FakeRun(dir, "stella", 2, 54, 8, 4);

        var lines = new List<string>();
        var md = await new CompareJob(config, ["er", "der++", "stella"], [1, 2], dir, lines.Add).RunAsync(CancellationToken.None);

        Assert.Equal(6, lines.Count(l => l.Contains("finished earlier, kept", StringComparison.Ordinal)));
        // Kept runs of other settings (here a made-up hash) are named, not silently mixed in.
        Assert.Equal(6, lines.Count(l => l.Contains("was trained with config hash 0123456789abcdef", StringComparison.Ordinal)));
        var text = await File.ReadAllTextAsync(md);
        var a2v = text.Split("## ")[1];
        Assert.StartsWith("Table 2.1: zero-shot retrieval, audio -> video", a2v);
        var er = a2v.Split('\n').Single(l => l.StartsWith("| er |", StringComparison.Ordinal)).Split('|').Select(c => c.Trim()).ToArray();
        var stella = a2v.Split('\n').Single(l => l.StartsWith("| stella |", StringComparison.Ordinal)).Split('|').Select(c => c.Trim()).ToArray();
        var der = a2v.Split('\n').Single(l => l.StartsWith("| der++ |", StringComparison.Ordinal)).Split('|').Select(c => c.Trim()).ToArray();
        // columns: "", method, R@1 A, R@1 F, R@5 A, R@5 F, R@10 A, R@10 F, avg A, avg F
        Assert.Equal("**52.0 ± 2.8**", stella[6]);
        Assert.Equal("<u>42.0 ± 2.8</u>", er[6]);
        Assert.Equal("30.0 ± 0.0", der[6]);
        Assert.Equal("**5.0 ± 0.0**", der[7]);
        Assert.Equal("<u>8.0 ± 0.0</u>", stella[7]);
        Assert.Equal("11.0 ± 1.4", er[7]);

        var csv = await File.ReadAllLinesAsync(Path.Combine(dir, "compare.csv"));
        // One header for the table rows and the paired rows: the table rows leave the paired columns empty.
        Assert.Equal("table,method,metric,mean,std,n,mean_diff,lo_seed,hi_seed,lo_boot,hi_boot,wins,verdict,reference", csv[0]);
        Assert.Contains("retrieval_a2v,er,R@10 A,42,2.828,2,,,,,,,,", csv);
        Assert.Contains("efficiency,er,samples/s,6,1.414,2,,,,,,,,", csv);
        Assert.Contains("quality,stella,linear probe after last (%),80,0,2,,,,,,,,", csv);
        // der++ is the default reference: stella's R@10 A is 20 and 24 points above it (no ranks in these runs: no bootstrap).
        Assert.Contains("paired,stella,a2v R@10 A,,,2,22,-3.412,47.412,,,2,not separable,der++", csv);
        Assert.True(File.Exists(Path.Combine(dir, "plots", "a_f.png")));
        Assert.True(File.Exists(Path.Combine(dir, "plots", "modality_gap.png")));
    }

    [Fact]
    public async Task Compare_PairedAgainstTheReference_WritesDifferencesIntervalsAndVerdicts()
    {
        var dir = TestData.TempDir();
        var config = Path.Combine(dir, "job.yaml");
        await File.WriteAllTextAsync(config, "name: t\nmanifest: missing/manifest.csv\n");
        foreach (var seed in new[] { 0, 1, 2 })
        {
            // stella finds every clip first, der++ ranks them anywhere in 1..50; er is der++ on every clip.
            FakeRuns.Write(dir, FakeRuns.WithRanks("stella", seed, FakeRuns.Constant(1, 6)));
            FakeRuns.Write(dir, FakeRuns.WithRanks("der++", seed, FakeRuns.Mixed(seed, 6)));
            FakeRuns.Write(dir, FakeRuns.WithRanks("er", seed, FakeRuns.Mixed(seed, 6)));
        }

        var lines = new List<string>();
        var md = await File.ReadAllTextAsync(await new CompareJob(config, ["der++", "stella", "er"], [0, 1, 2], dir, lines.Add).RunAsync(CancellationToken.None));

        Assert.Equal(9, lines.Count(l => l.Contains("finished earlier, kept", StringComparison.Ordinal)));
        var paired = md.Split("## Paired against der++\n")[1].Split("\n## ")[0];
        Assert.Contains("**95% over seeds (t)**", paired);
        Assert.Contains("**verdict** at 95%", paired);
        Assert.Contains("![paired differences against der++](plots/paired.png)", paired);
        string[] Row(string direction, string method, string metric) => paired.Split("### " + direction)[1].Split("### ")[0].Split('\n')
            .Single(l => l.StartsWith($"| {method} | {metric} |", StringComparison.Ordinal)).Split('|').Select(c => c.Trim()).ToArray();
        // columns: "", method, metric, mean diff, over seeds, bootstrap, wins, verdict
        var stella = Row("audio -> video", "stella", "avg A");
        Assert.Equal(("3/3", "**better**"), (stella[6], stella[7]));
        Assert.StartsWith("+", stella[3], StringComparison.Ordinal);
        var er = Row("video -> audio", "er", "R@10 A");
        Assert.Equal(("0.00", "[0.00, 0.00]", "[0.00, 0.00]", "0/3", "not separable"), (er[3], er[4], er[5], er[6], er[7]));
        Assert.DoesNotContain(paired.Split('\n'), l => l.StartsWith("| der++ |", StringComparison.Ordinal));

        var csv = await File.ReadAllLinesAsync(Path.Combine(dir, "compare.csv"));
        Assert.Equal(2 * 16, csv.Count(l => l.StartsWith("paired,", StringComparison.Ordinal)));
        Assert.Contains("paired,er,v2a R@10 A,,,3,0,0,0,0,0,0,not separable,der++", csv);
        Assert.Single(csv, l => l.StartsWith("paired,stella,a2v avg A,", StringComparison.Ordinal) && l.EndsWith(",3,better,der++", StringComparison.Ordinal));
        var png = await File.ReadAllBytesAsync(Path.Combine(dir, "plots", "paired.png"));
        Assert.True(png.Length > 2000 && png[1] == (byte)'P' && png[2] == (byte)'N' && png[3] == (byte)'G');

        // A reference that is not among the methods: the section says why and holds nothing else.
        var without = await File.ReadAllTextAsync(await new CompareJob(config, ["stella", "er"], [0, 1, 2], dir, _ => { }) { Reference = "lump" }.RunAsync(CancellationToken.None));
        var skipped = without.Split("## Paired against lump\n\n")[1].Split('\n')[0];
        Assert.Equal("Skipped: the reference 'lump' is not among the methods compared (stella, er); choose one with --reference.", skipped);
        Assert.DoesNotContain("plots/paired.png", without);
    }

    [Fact]
    public async Task Compare_Variant_IsARowOfItsOwn_AndASecondReferencePairsAgainstIt()
    {
        var dir = TestData.TempDir();
        var config = Path.Combine(dir, "job.yaml");
        await File.WriteAllTextAsync(config, "name: t\nmanifest: data/manifest.csv\n");
        Directory.CreateDirectory(Path.Combine(dir, "other"));
        var variantConfig = Path.Combine(dir, "other", "avm.yaml");
        await File.WriteAllTextAsync(variantConfig, "name: t-avm\nmanifest: ../data/manifest.csv\nmethod: stella\nwarmup:\n  epochs: 1\n  avm_epochs: 2\n");
        foreach (var seed in new[] { 0, 1, 2 })
        {
            // the variant finds every clip first; stella and der++ rank them anywhere in 1..50.
            FakeRuns.Write(dir, FakeRuns.WithRanks("der++", seed, FakeRuns.Mixed(seed, 6)));
            FakeRuns.Write(dir, FakeRuns.WithRanks("stella", seed, FakeRuns.Mixed(seed, 6)));
            FakeRuns.Write(dir, FakeRuns.WithRanks("stella-avm", seed, FakeRuns.Constant(1, 6)));
        }

        var job = new CompareJob(config, ["der++", "stella"], [0, 1, 2], dir, _ => { })
        {
            Variants = [CompareVariant.Parse($"stella-avm={variantConfig}")], References = ["stella"],
        };
        Assert.Equal([("der++", config, "der++", false), ("stella", config, "stella", false), ("stella-avm", variantConfig, "stella", true)],
            job.Plan().Select(e => (e.Label, e.ConfigPath, e.Method, e.IsVariant)));
        var md = await File.ReadAllTextAsync(await job.RunAsync(CancellationToken.None));

        Assert.Contains($"Variant **stella-avm**: stella with config `{variantConfig}`.", md);
        Assert.Contains(md.Split("## Table 2.1: zero-shot retrieval, audio -> video\n")[1].Split("\n## ")[0].Split('\n'), l => l.StartsWith("| stella-avm |", StringComparison.Ordinal));
        // Against der++ (first reference): stella and the variant; against stella: der++ and the variant, with its own plot.
        var vsStella = md.Split("## Paired against stella\n")[1].Split("\n## ")[0];
        Assert.Contains(vsStella.Split('\n'), l => l.StartsWith("| stella-avm | avg A |", StringComparison.Ordinal) && l.EndsWith("| 3/3 | **better** |", StringComparison.Ordinal));
        Assert.Contains("![paired differences against stella](plots/paired-vs-stella.png)", vsStella);
        Assert.True(File.Exists(Path.Combine(dir, "plots", "paired-vs-stella.png")));
        var csv = await File.ReadAllLinesAsync(Path.Combine(dir, "compare.csv"));
        Assert.Equal(2 * 16, csv.Count(l => l.StartsWith("paired,", StringComparison.Ordinal) && l.EndsWith(",der++", StringComparison.Ordinal)));
        Assert.Equal(2 * 16, csv.Count(l => l.StartsWith("paired,", StringComparison.Ordinal) && l.EndsWith(",stella", StringComparison.Ordinal)));
        Assert.Single(csv, l => l.StartsWith("paired,stella-avm,a2v avg A,", StringComparison.Ordinal) && l.EndsWith(",3,better,stella", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("er=other/avm.yaml", "variant 'er': the label is already a method's or another variant's; choose another")]
    [InlineData("a/b=other/avm.yaml", "variant 'a/b': a label is letters, digits and . _ + - (it names the runs' folders)")]
    [InlineData("elsewhere=other/elsewhere.yaml", "trains on ")]
    [InlineData("stella-avm", "--variant 'stella-avm': write LABEL=CONFIG, e.g. stella-avm=pipelines/synth-avm.yaml")]
    [InlineData("typo=other/typo.yaml", "variant 'typo': ")]
    [InlineData("gone=other/gone.yaml", "variant 'gone': ")]
    public async Task Compare_BadVariant_IsAClearError(string variant, string expected)
    {
        var dir = TestData.TempDir();
        var config = Path.Combine(dir, "job.yaml");
        await File.WriteAllTextAsync(config, "name: t\nmanifest: data/manifest.csv\n");
        Directory.CreateDirectory(Path.Combine(dir, "other"));
        await File.WriteAllTextAsync(Path.Combine(dir, "other", "avm.yaml"), "name: t\nmanifest: ../data/manifest.csv\n");
        await File.WriteAllTextAsync(Path.Combine(dir, "other", "elsewhere.yaml"), "name: t\nmanifest: data/manifest.csv\n");
        await File.WriteAllTextAsync(Path.Combine(dir, "other", "typo.yaml"), "name: t\nmanifest: ../data/manifest.csv\nmethod: stela\n");
        var e = await Assert.ThrowsAsync<Stella.Core.UserInputException>(() =>
            new CompareJob(config, ["er"], [0], dir, _ => { }) { Variants = [CompareVariant.Parse(variant.Replace("other/", Path.Combine(dir, "other") + "/", StringComparison.Ordinal))] }.RunAsync(CancellationToken.None));
        Assert.Contains(expected, e.Message);
        if (expected == "trains on ")
        {
            Assert.EndsWith($"the compare's config {config} on {Path.Combine(dir, "data", "manifest.csv")}; paired differences need the same clips", e.Message);
        }
    }

    [Fact]
    public async Task Compare_MemorySweep_WritesATablePerSize_AndThePlot()
    {
        var dir = TestData.TempDir();
        var config = Path.Combine(dir, "job.yaml");
        await File.WriteAllTextAsync(config, "name: t\nmanifest: missing/manifest.csv\n");
        // avg A (a->v) is 7/12 of the R@10 A given: er at 16 items 7 and 14, der++ 3.5 and 3.5; at 32 items er 21 and 21.
        foreach (var (m, a1, a2) in new[] { ("er-m16", 12.0, 24.0), ("der++-m16", 6.0, 6.0), ("er-m32", 36.0, 36.0), ("der++-m32", 6.0, 12.0) })
        {
            FakeRun(dir, m, 1, a1, 5, 10);
            FakeRun(dir, m, 2, a2, 5, 10);
        }

        var lines = new List<string>();
        var md = await new CompareJob(config, ["er", "der++"], [1, 2], dir, lines.Add) { MemorySizes = [32, 16] }.RunAsync(CancellationToken.None);

        Assert.Equal(Path.Combine(dir, "memory.md"), md);
        Assert.Equal(8, lines.Count(l => l.Contains("finished earlier, kept", StringComparison.Ordinal)));
        var text = await File.ReadAllTextAsync(md);
        var sections = text.Split("## ");
        Assert.StartsWith("16 memory items", sections[1]);
        Assert.StartsWith("32 memory items", sections[2]);
        var er16 = sections[1].Split('\n').Single(l => l.StartsWith("| er |", StringComparison.Ordinal)).Split('|').Select(c => c.Trim()).ToArray();
        Assert.Equal("**10.5 ± 4.9**", er16[2]);
        var csv = await File.ReadAllLinesAsync(Path.Combine(dir, "memory.csv"));
        Assert.Contains("memory-m32,er,a->v avg A,21,0,2,,,,,,,,", csv);
        Assert.Contains("memory-m16,der++,a->v avg A,3.5,0,2,,,,,,,,", csv);
        Assert.True(new FileInfo(Path.Combine(dir, "plots", "memory_size.png")).Length > 1000);
        // Each size is a setting of the run: 2 methods x 2 seeds x 2 sizes hash apart, 4 without the size (the kept runs' hash is made up).
        var hashes = lines.Where(l => l.Contains("was trained with config hash", StringComparison.Ordinal)).Select(l => l.Split(" gives ")[1].Split(' ')[0]).Distinct().ToList();
        Assert.Equal(8, hashes.Count);
        Assert.False(File.Exists(Path.Combine(dir, "compare.md")));
    }

    [Fact]
    public async Task Compare_TaskOrders_RunEachMethodInSeededOrders_AndSummarizeOverThem()
    {
        var dir = TestData.TempDir();
        var config = Path.Combine(dir, "job.yaml");
        await File.WriteAllTextAsync(config, "name: t\nmanifest: missing/manifest.csv\nsynth:\n  tasks: 3\n");
        var orders = CompareJob.Orders(3, 2);
        Assert.Equal(2, orders.Distinct(new OrderComparer()).Count());
        Assert.All(orders, o => Assert.NotEqual([0, 1, 2], o));
        Assert.All(orders, o => Assert.Equal([0, 1, 2], o.Order()));
        Assert.Equal(orders.Select(o => string.Join(",", o)), CompareJob.Orders(3, 2).Select(o => string.Join(",", o)));
        foreach (var m in new[] { "er-o1", "er-o2" })
        {
            FakeRun(dir, m, 0, 12, 5, 10);
            FakeRun(dir, m, 1, 24, 5, 10);
        }

        var lines = new List<string>();
        var md = await new CompareJob(config, ["er"], [0, 1], dir, lines.Add) { TaskOrders = 2 }.RunAsync(CancellationToken.None);

        var text = await File.ReadAllTextAsync(md);
        Assert.Contains($"## Order 1: tasks {string.Join(", ", orders[0])}", text);
        Assert.Contains($"## Order 2: tasks {string.Join(", ", orders[1])}", text);
        Assert.Contains("## Over all 2 orders (mean ± std over orders and seeds)", text);
        var csv = await File.ReadAllLinesAsync(Path.Combine(dir, "orders.csv"));
        Assert.Contains("orders-all,er,a->v avg A,10.5,4.041,4,,,,,,,,", csv);
        // Each order is a setting of the run: the configs of the two orders hash apart (the kept runs' hash is made up).
        var hashes = lines.Where(l => l.Contains("was trained with config hash", StringComparison.Ordinal)).Select(l => l.Split(" gives ")[1].Split(' ')[0]).Distinct().ToList();
        Assert.Equal(4, hashes.Count);

        var e = Assert.Throws<Stella.Core.UserInputException>(() => CompareJob.Orders(2, 2));
        Assert.Equal("--task-orders 2: 2 tasks have only 1 orders besides their own", e.Message);
    }

    [Fact]
    public async Task TaskOrder_TrainsTheTasksInThatOrder_OnTheSameInputs_FromShardsAsFromTheClips()
    {
        // Two tasks: the one other order is [1, 0]. Compare trains it from patch shards preprocessed in the manifest's order; a run
        // from the clips with task_order [1, 0] must see the same windows (each clip keeps its place's window) and give the same results.
        var data = await TestData.SynthAsync(TestData.Tiny);
        var manifest = Path.Combine(data, "manifest.csv");
        var names = Stella.Core.Tasks.TaskMap.Read(Path.Combine(data, "tasks.json")).Tasks.Select(t => t.Name).ToList();
        var dir = TestData.TempDir();
        var config = Path.Combine(dir, "job.yaml");
        await File.WriteAllTextAsync(config, $"name: t\nmanifest: {manifest}\nbatch_size: 4\nworkers: 2\nprobe_per_class: 0\nepochs_per_task: 1\n");
        await new CompareJob(config, ["finetune"], [0], dir, _ => { }) { TaskOrders = 1 }.RunAsync(CancellationToken.None);
        var fromShards = RunResults.Read(Path.Combine(dir, "runs", "finetune-o1-s0", "results.json"));

        var clipsDir = TestData.TempDir();
        var reordered = StreamTrainConfig.Load(config);
        reordered.Method = "finetune";
        reordered.TaskOrder = [1, 0];
        await new StreamTrainJob(reordered, clipsDir, _ => { }).RunAsync(false, CancellationToken.None);
        var fromClips = RunResults.Read(Path.Combine(clipsDir, "results.json"));

        Assert.Equal([names[1], names[0]], fromClips.Tasks);
        Assert.Equal(fromClips.Tasks, fromShards.Tasks);
        Assert.Equal(JsonSerializer.Serialize(fromClips.A2V), JsonSerializer.Serialize(fromShards.A2V));
        Assert.Equal(JsonSerializer.Serialize(fromClips.V2A), JsonSerializer.Serialize(fromShards.V2A));
        Assert.Equal(JsonSerializer.Serialize(fromClips.Ranks), JsonSerializer.Serialize(fromShards.Ranks));
        // The gap is continuous: it moves with any change of the inputs, where four steps rarely move a rank.
        Assert.Equal(JsonSerializer.Serialize(fromClips.ModalityGap), JsonSerializer.Serialize(fromShards.ModalityGap));
        Assert.Equal(fromClips.ConfigHash, fromShards.ConfigHash);
        Assert.NotEqual(new StreamTrainConfig { Manifest = reordered.Manifest }.Hash(), reordered.Hash());
    }

    private sealed class OrderComparer : IEqualityComparer<int[]>
    {
        public bool Equals(int[]? x, int[]? y) => x!.SequenceEqual(y!);

        public int GetHashCode(int[] obj) => string.Join(",", obj).GetHashCode(StringComparison.Ordinal);
    }

    [Fact]
    public async Task Compare_NoRunOutlivesItsTurn_InTheProcess()
    {
        // A compare trains its runs one after another in one process; each run's job (its learner, evaluator and evaluation clips)
        // must be unreachable once it is done, so that the release between runs frees it. Before the fix the compare went on
        // inside the finished run's own frames, which kept that run reachable through its release (a heap dump showed its
        // evaluator and every evaluation clip) and, after the last run, past the compare's end.
        var manifest = Path.Combine(await TestData.SynthAsync(TestData.Tiny), "manifest.csv");
        var dir = TestData.TempDir();
        var config = Path.Combine(dir, "job.yaml");
        await File.WriteAllTextAsync(config, $"name: t\nmanifest: {manifest}\nbatch_size: 4\nworkers: 2\nprobe_per_class: 0\nepochs_per_task: 1\n");
        var jobs = new List<WeakReference>();
        var aliveAfterRelease = new List<int>();
        var job = new CompareJob(config, ["finetune", "er"], [0, 1], dir, _ => { })
        {
            JobStarting = started => jobs.Add(new WeakReference(started)),
            RunReleased = () =>
            {
                Collect();
                aliveAfterRelease.Add(jobs.Count(w => w.IsAlive));
            },
        };
        await job.RunAsync(CancellationToken.None);
        Collect();

        // Four runs (finetune and er, seeds 0 and 1): when each one's memory is released, no job is reachable, nor at the end.
        Assert.Equal(4, jobs.Count);
        Assert.Equal([0, 0, 0, 0], aliveAfterRelease);
        Assert.DoesNotContain(jobs, w => w.IsAlive);
    }

    private static void Collect()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
    }

    [Fact]
    public async Task Compare_UnknownMethod_IsAClearError()
    {
        var e = await Assert.ThrowsAsync<Stella.Core.UserInputException>(() => new CompareJob("x.yaml", ["stela"], [0], Path.GetTempPath(), _ => { }).RunAsync(CancellationToken.None));
        Assert.StartsWith("unknown method 'stela': choose from", e.Message);
    }

    [Theory]
    [InlineData(new[] { 1.0, 3.0, 2.0 }, true, 1, 2)]
    [InlineData(new[] { 1.0, 3.0, 2.0 }, false, 0, 2)]
    [InlineData(new[] { 3.0, 3.0, 2.0 }, true, 0, 2)]
    [InlineData(new[] { double.NaN, 1.0, 0.5 }, true, 1, 2)]
    [InlineData(new[] { double.NaN, 1.0 }, true, -1, -1)]
    [InlineData(new[] { 2.0 }, true, -1, -1)]
    [InlineData(new[] { 2.0, 2.0, 2.0 }, false, -1, -1)]
    public void BestTwo_MarksBestAndSecond(double[] values, bool higher, int best, int second)
    {
        Assert.Equal((best, second), Ranking.BestTwo(values, higher));
    }

    [Fact]
    public void LinearProbe_SeparableClasses_AreClassifiedRight_Deterministically()
    {
        var rng = new Random(4);
        float[] Point(int c) => Enumerable.Range(0, 8).Select(d => (float)((d == c ? 3.0 : 0.0) + (rng.NextDouble() * 0.5))).ToArray();
        var train = Enumerable.Range(0, 60).Select(i => Point(i % 3)).ToArray();
        var labels = Enumerable.Range(0, 60).Select(i => i % 3).ToArray();
        var test = Enumerable.Range(0, 30).Select(i => Point(i % 3)).ToArray();
        var predicted = LinearProbe.FitPredict(train, labels, test, 3);
        Assert.Equal(Enumerable.Range(0, 30).Select(i => i % 3), predicted);

        // Zero initial weights and full-batch steps: the probe is a function of its data.
        Assert.Equal(predicted, LinearProbe.FitPredict(train, labels, test, 3));
    }
}
