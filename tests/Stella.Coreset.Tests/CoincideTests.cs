using System.Text.Json;
using Stella.Core.Arrays;
using Stella.Coreset;

namespace Stella.Coreset.Tests;

public sealed class CoincideTests
{
    static CoincideTests() => Stella.Model.Runtime.TorchRuntime.Initialize();

    private static string TempDir()
    {
        return Stella.Tests.Shared.TestTemp.Dir();
    }

    /// <summary>N rows around <paramref name="k"/> planted unit directions (noise 0.05), in a random order; returns the file and the truth.</summary>
    private static (string Path, int[] Truth) Planted(int n, int d, int k, int seed, bool half = false)
    {
        var rng = new Random(seed);
        var centers = Enumerable.Range(0, k).Select(_ => Enumerable.Range(0, d).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray()).ToArray();
        var truth = Enumerable.Range(0, n).Select(i => i % k).OrderBy(_ => rng.Next()).ToArray();
        var data = new float[n * d];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < d; j++)
            {
                data[(i * d) + j] = centers[truth[i]][j] + (0.05f * ((float)rng.NextDouble() - 0.5f));
            }
        }

        var path = Path.Combine(TempDir(), "features.npy");
        if (half)
        {
            var bytes = data.Select(v => BitConverter.GetBytes((Half)v)).SelectMany(b => b).ToArray();
            WriteHalf(path, bytes, n, d);
        }
        else
        {
            Npy.Write(path, data, n, d);
        }

        return (path, truth);
    }

    private static void WriteHalf(string path, byte[] bytes, int n, int d)
    {
        var header = $"{{'descr': '<f2', 'fortran_order': False, 'shape': ({n}, {d}), }}";
        var pad = 64 - ((10 + header.Length + 1) % 64);
        header = header + new string(' ', pad % 64) + "\n";
        using var f = File.Create(path);
        f.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        f.Write(BitConverter.GetBytes((ushort)header.Length));
        f.Write(System.Text.Encoding.ASCII.GetBytes(header));
        f.Write(bytes);
    }

    /// <summary>The share of rows compared with every centroid in a k-means progress line, in percent.</summary>
    private static double Share(string line) => double.Parse(System.Text.RegularExpressions.Regex.Match(line, @"(\d+) % of rows").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void KMeans_PlantedClusters_AreRecovered_FromFloat16()
    {
        var (path, truth) = Planted(600, 32, 6, 1, half: true);
        using var x = FeatureMatrix.Open(path);
        // k-means++ seeding: with the reference's random seeding two starting points can land in one planted cluster.
        var result = new SphericalKMeans(6, iterations: 15, seed: 3, plusPlus: true).Fit(x);
        // Each found cluster is exactly one planted cluster (purity 1), whatever the numbering.
        foreach (var group in Enumerable.Range(0, 600).GroupBy(i => result.Assignments[i]))
        {
            Assert.Single(group.Select(i => truth[i]).Distinct());
        }

        Assert.Equal(6, result.Assignments.Distinct().Count());
        Assert.True(result.Objective[^1] > 0.99, $"objective {result.Objective[^1]}");
        Assert.True(result.Objective.Zip(result.Objective.Skip(1)).All(p => p.Second >= p.First - 1e-6), "spherical k-means never lowers its objective");
    }

    [Fact]
    public void KMeans_SameSeed_SameResult_AndEmptyClustersAreSplit()
    {
        var (path, _) = Planted(200, 16, 2, 5);
        using var x = FeatureMatrix.Open(path);
        var a = new SphericalKMeans(8, iterations: 5, seed: 9).Fit(x);
        var b = new SphericalKMeans(8, iterations: 5, seed: 9).Fit(x);
        Assert.Equal(a.Assignments, b.Assignments);
        Assert.Equal(a.Centroids, b.Centroids);
        Assert.All(Enumerable.Range(0, 8).Select(c => Math.Sqrt(a.Centroids.Skip(c * 16).Take(16).Sum(v => v * (double)v))), norm => Assert.InRange(norm, 0.999, 1.001));
    }

    [Fact]
    public void KMeans_Pruning_GivesTheFullComparisonsResult_WithFewerComparisons()
    {
        var (path, _) = Planted(3000, 48, 12, 21);
        using var x = FeatureMatrix.Open(path);
        var lines = new List<string>();
        // More centroids than planted clusters, and blocks of 256 rows, so that several iterations move and blocks mix both paths.
        // Width 48 is below the width pruning starts at by default (PruneFromWidth): pruned on request, every row compared by default.
        var pruned = new SphericalKMeans(20, iterations: 12, seed: 4, blockRows: 256, progress: lines.Add, pruneFromWidth: 0).Fit(x);
        var defaultLines = new List<string>();
        var byDefault = new SphericalKMeans(20, iterations: 12, seed: 4, blockRows: 256, progress: defaultLines.Add).Fit(x);
        Assert.All(defaultLines, l => Assert.Equal(100, Share(l)));
        Assert.Equal(byDefault.Assignments, pruned.Assignments);
        var full = new SphericalKMeans(20, iterations: 12, seed: 4, blockRows: 256, prune: false).Fit(x);
        Assert.Equal(full.Assignments, pruned.Assignments);
        Assert.All(full.Objective.Zip(pruned.Objective), p => Assert.Equal(p.First, p.Second, 1e-6));
        Assert.All(full.Centroids.Zip(pruned.Centroids), p => Assert.Equal(p.First, p.Second, 1e-5));
        // The first iteration compares every row with every centroid; once the clusters settle, far fewer rows need it.
        Assert.Equal(100, Share(lines[0]));
        Assert.True(Share(lines[^1]) < 50, lines[^1]);
    }

    [Fact]
    public void KMeans_NarrowRows_ArePrunedByDefault_FromPruneFromClusters()
    {
        // Width 32 is below PruneFromWidth, but with PruneFromClusters centroids the default prunes, with the full comparison's result.
        var (path, _) = Planted(12_000, 32, 40, 17);
        using var x = FeatureMatrix.Open(path);
        var lines = new List<string>();
        var byDefault = new SphericalKMeans(SphericalKMeans.PruneFromClusters, iterations: 4, seed: 3, progress: lines.Add).Fit(x);
        var full = new SphericalKMeans(SphericalKMeans.PruneFromClusters, iterations: 4, seed: 3, prune: false).Fit(x);
        Assert.Equal(full.Assignments, byDefault.Assignments);
        Assert.Equal(100, Share(lines[0]));
        Assert.True(Share(lines[^1]) < 100, string.Join("\n", lines));
        var fewer = new List<string>();
        new SphericalKMeans(SphericalKMeans.PruneFromClusters - 1, iterations: 4, seed: 3, progress: fewer.Add).Fit(x);
        Assert.All(fewer, l => Assert.Equal(100, Share(l)));
    }

    [Theory]
    [InlineData(203, 20)] // groups of 11 centroids, the last one of 5
    [InlineData(203, 1)] // one group: the global bound
    [InlineData(203, 203)] // a group per centroid
    public void KMeans_GroupBounds_GiveTheFullComparisonsAssignments_OnPlantedData(int k, int groups)
    {
        // Many more centroids than planted clusters: centroids keep drifting inside each planted cluster, the case a single global
        // drift bound cannot prune.
        var (path, truth) = Planted(8000, 32, 25, 8);
        using var x = FeatureMatrix.Open(path);
        var lines = new List<string>();
        var pruned = new SphericalKMeans(k, iterations: 15, seed: 2, progress: lines.Add, groups: groups, pruneFromWidth: 0).Fit(x);
        // Every found cluster lies inside one planted cluster (the rows pass in two blocks, the second a view at row 4,096).
        foreach (var group in Enumerable.Range(0, 8000).GroupBy(i => pruned.Assignments[i]))
        {
            Assert.Single(group.Select(i => truth[i]).Distinct());
        }

        var full = new SphericalKMeans(k, iterations: 15, seed: 2, prune: false).Fit(x);
        Assert.Equal(full.Assignments, pruned.Assignments);
        Assert.All(full.Objective.Zip(pruned.Objective), p => Assert.Equal(p.First, p.Second, 1e-6));
        Assert.All(full.Centroids.Zip(pruned.Centroids), p => Assert.Equal(p.First, p.Second, 1e-5));
        Assert.Equal(100, Share(lines[0]));
        Assert.True(lines.Skip(1).Any(l => Share(l) < 100), string.Join("\n", lines));
    }

    [Fact]
    public void KMeans_BFloat16_KeepsClearWinners_ChangesOnlyNearTies_AndMeasuresItsObjectiveInFloat32()
    {
        // Planted clusters far apart: every row's best centroid wins by far more than bfloat16's error, so nothing changes.
        var (clear, _) = Planted(3000, 48, 12, 21);
        using (var x = FeatureMatrix.Open(clear))
        {
            var exact = new SphericalKMeans(12, iterations: 8, seed: 4, plusPlus: true).Fit(x);
            var low = new SphericalKMeans(12, iterations: 8, seed: 4, plusPlus: true, precision: KMeansPrecision.BFloat16).Fit(x);
            Assert.Equal(exact.Assignments, low.Assignments);
            Assert.Equal(exact.Objective[^1], low.Objective[^1], 1e-5);
        }

        // Gaussian rows and many centroids: close seconds everywhere. With no iteration both assign against the same seeded
        // centroids: bfloat16 takes another centroid for some rows, and only where that one is within bfloat16's error of the
        // best (per score at most 3u, u = 2^-8: inputs rounded, output rounded; so 6u between two scores); the objective it
        // reports is the float32 mean cosine of each row to the centroid it chose.
        var rng = new Random(6);
        const int n = 4000, d = 64;
        var data = Enumerable.Range(0, n * d).Select(_ => (float)(rng.NextDouble() + rng.NextDouble() - 1)).ToArray();
        var path = Path.Combine(TempDir(), "gaussian.npy");
        Npy.Write(path, data, n, d);
        using var rows = FeatureMatrix.Open(path);
        var f32 = new SphericalKMeans(200, iterations: 0, seed: 1).Fit(rows);
        var bf16 = new SphericalKMeans(200, iterations: 0, seed: 1, precision: KMeansPrecision.BFloat16).Fit(rows);
        Assert.Equal(f32.Centroids, bf16.Centroids);
        var unit = new float[n * d];
        rows.ReadRows(0, n, unit);
        double Cos(int i, int c) => Enumerable.Range(0, d).Sum(j => unit[(i * d) + j] * (double)bf16.Centroids[(c * d) + j]);
        var moved = Enumerable.Range(0, n).Where(i => f32.Assignments[i] != bf16.Assignments[i]).ToArray();
        Assert.NotEmpty(moved);
        Assert.All(moved, i => Assert.InRange(Cos(i, bf16.Assignments[i]), Cos(i, f32.Assignments[i]) - (6.0 / 256), Cos(i, f32.Assignments[i]) + 1e-6));
        var mean = Enumerable.Range(0, n).Average(i => Cos(i, bf16.Assignments[i]));
        Assert.Equal(mean, bf16.Objective[^1], 1e-6);
    }

    [Fact]
    public void GreedyMmd_EqualsBruteForceSearch()
    {
        var rng = new Random(7);
        for (var trial = 0; trial < 5; trial++)
        {
            const int N = 12, D = 5;
            var rows = new float[N * D];
            for (var i = 0; i < N; i++)
            {
                var v = Enumerable.Range(0, D).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
                var norm = (float)Math.Sqrt(v.Sum(t => t * t));
                for (var j = 0; j < D; j++)
                {
                    rows[(i * D) + j] = v[j] / norm;
                }
            }

            var greedy = Coincide.GreedyMmd(rows, N, D, 6);
            var brute = new List<int>();
            for (var step = 0; step < 6; step++)
            {
                brute.Add(Enumerable.Range(0, N).Where(c => !brute.Contains(c)).OrderBy(c => Coincide.Mmd2(rows, N, D, [.. brute, c])).ThenBy(c => c).First());
            }

            Assert.Equal(brute, greedy);
        }
    }

    [Fact]
    public void Quotas_NeverExceedAClusterAndSumToTheBudget()
    {
        var rng = new Random(2);
        for (var trial = 0; trial < 200; trial++)
        {
            var k = rng.Next(1, 30);
            var sizes = Enumerable.Range(0, k).Select(_ => rng.Next(0, 50)).ToArray();
            var p = Coincide.Probability(Enumerable.Range(0, k).Select(_ => rng.NextDouble()).ToArray(), Enumerable.Range(0, k).Select(_ => 0.5 + rng.NextDouble()).ToArray(), 0.1);
            var budget = rng.Next(1, 400);
            var (order, quotas) = Coincide.Quotas(p, sizes, budget);
            Assert.All(Enumerable.Range(0, k), c => Assert.InRange(quotas[c], 0, sizes[c]));
            Assert.Equal(Math.Min(budget, sizes.Sum()), quotas.Sum());
            Assert.Equal(Enumerable.Range(0, k).OrderByDescending(c => p[c]).ThenBy(c => c), order);
        }
    }

    [Fact]
    public void Scores_OnATinyCase_MatchHandComputedValues()
    {
        // Three unit centroids in 2-D: (1,0), (0,1), (0.6,0.8).
        float[] c = [1, 0, 0, 1, 0.6f, 0.8f];
        var thesis = Coincide.Transferability(c, 3, 2, new CoincideOptions { Transfer = TransferMode.Thesis });
        Assert.Equal((0 + 0.6) / 2, thesis[0], 6);
        Assert.Equal((0 + 0.8) / 2, thesis[1], 6);
        Assert.Equal((0.6 + 0.8) / 2, thesis[2], 6);

        // Reference: one layer block of [a || b]; S on the b halves only, near-duplicates (cos > 0.9) left out.
        float[] blocks = [1, 0, 0, 1, /* */ 0, 1, 1, 0, /* */ 1, 0, 0.6f, 0.8f];
        var reference = Coincide.Transferability(blocks, 3, 4, new CoincideOptions { Transfer = TransferMode.Reference, Layers = 1 });
        // b halves: (0,1), (1,0), (0.6,0.8) -> cos01 = 0, cos02 = 0.8, cos12 = 0.6; none above 0.9.
        Assert.Equal(0.4, reference[0], 6);
        Assert.Equal(0.3, reference[1], 6);
        Assert.Equal(0.7, reference[2], 6);

        // D of two unit rows at cosine 0.6: (2 * e^0 + 2 * e^(0.6 - 1)) / 4.
        Assert.Equal((2 + (2 * Math.Exp(-0.4))) / 4, Coincide.Density([1, 0, 0.6f, 0.8f], 2, 2), 6);

        var p = Coincide.Probability([0.2, 0.4], [1.0, 2.0], 0.1);
        // logits 2 and 2 -> equal.
        Assert.Equal(0.5, p[0], 9);
        var q = Coincide.Probability([0.3, 0.1], [1.0, 1.0], 0.1);
        Assert.Equal(Math.Exp(3) / (Math.Exp(3) + Math.Exp(1)), q[0], 9);
    }

    [Fact]
    public void Job_WritesTheDocumentedFiles_Deterministically()
    {
        var (path, truth) = Planted(400, 20, 4, 8);
        var labels = Path.Combine(Path.GetDirectoryName(path)!, "labels.txt");
        File.WriteAllLines(labels, truth.Select(t => $"class{t}"));
        var outA = TempDir();
        var outB = TempDir();
        var settings = new CoresetSettings { Features = path, Out = outA, Clusters = 8, Iterations = 5, Labels = labels, Coincide = new CoincideOptions { Ratio = 0.25, Transfer = TransferMode.Thesis } };
        CoresetJob.Run(settings, _ => { });
        CoresetJob.Run(settings with { Out = outB }, _ => { });

        var (indices, shape) = ReadInt64(Path.Combine(outA, "indices.npy"));
        Assert.Equal([100L], shape);
        Assert.Equal(100, indices.Distinct().Count());
        Assert.All(indices, i => Assert.InRange(i, 0, 399));
        Assert.Equal(File.ReadAllBytes(Path.Combine(outA, "indices.npy")), File.ReadAllBytes(Path.Combine(outB, "indices.npy")));
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(outA, "summary.json")));
        Assert.Equal(400, summary.RootElement.GetProperty("n").GetInt32());
        Assert.Equal(100, summary.RootElement.GetProperty("selected").GetInt32());
        Assert.Equal(6, summary.RootElement.GetProperty("kmeans_objective").GetArrayLength());
        Assert.Equal(4, summary.RootElement.GetProperty("label_coverage").GetProperty("covered").GetInt32());
        Assert.True(File.Exists(Path.Combine(outA, "report.md")) && File.Exists(Path.Combine(outA, "p.png")) && File.Exists(Path.Combine(outA, "cluster_sizes.png")));
        Assert.Contains("![coverage](coverage.png)", File.ReadAllText(Path.Combine(outA, "report.md")));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(outA, "coverage.png")).Take(4));

        foreach (var method in new[] { "random", "semdedup", "selfsup", "nearest" })
        {
            var dir = TempDir();
            CoresetJob.Run(settings with { Out = dir, Method = method }, _ => { });
            var (chosen, _) = ReadInt64(Path.Combine(dir, "indices.npy"));
            Assert.Equal(100, chosen.Distinct().Count());
        }
    }

    [Fact]
    public void Job_KeptInnerProducts_SelectWhatReadingTheRowsAgainSelects()
    {
        // float16 rows: the density pass and the MMD pass both convert them; kept Gram matrices must give MMD the same numbers.
        var (path, _) = Planted(600, 24, 6, 11, half: true);
        var settings = new CoresetSettings { Features = path, Out = TempDir(), Clusters = 12, Iterations = 6, Coincide = new CoincideOptions { Ratio = 0.3, Transfer = TransferMode.Thesis } };
        var runs = new[] { 0L, 20_000L, 1L << 30 }.Select(cap =>
        {
            var log = new List<string>();
            var dir = TempDir();
            CoresetJob.Run(settings with { Out = dir, Coincide = settings.Coincide with { GramCacheBytes = cap } }, log.Add);
            return (Indices: File.ReadAllBytes(Path.Combine(dir, "indices.npy")), Line: log.Single(l => l.StartsWith("density:", StringComparison.Ordinal)));
        }).ToArray();

        Assert.StartsWith("density: 0 of 12 clusters' inner products kept", runs[0].Line);
        Assert.StartsWith("density: 12 of 12 clusters' inner products kept", runs[2].Line);
        var partial = int.Parse(System.Text.RegularExpressions.Regex.Match(runs[1].Line, @"density: (\d+) of").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(partial, 1, 11);
        Assert.Equal(runs[0].Indices, runs[1].Indices);
        Assert.Equal(runs[0].Indices, runs[2].Indices);
    }

    [Fact]
    public void Job_BFloat16_IsRecorded_AndComparesEveryRow()
    {
        // Width 128: float32 k-means prunes there (PruneFromWidth); bfloat16 has no valid bounds and compares every row every pass.
        var (path, _) = Planted(2000, 128, 8, 3);
        var settings = new CoresetSettings { Features = path, Out = TempDir(), Clusters = 16, Iterations = 8, Coincide = new CoincideOptions { Transfer = TransferMode.Thesis } };
        var f32Lines = new List<string>();
        CoresetJob.Run(settings, f32Lines.Add);
        var bf16Lines = new List<string>();
        var dir = TempDir();
        CoresetJob.Run(settings with { Out = dir, KMeansPrecision = KMeansPrecision.BFloat16 }, bf16Lines.Add);
        Assert.Contains(f32Lines.Where(l => l.StartsWith("k-means iteration", StringComparison.Ordinal)), l => Share(l) < 100);
        var passes = bf16Lines.Where(l => l.StartsWith("k-means iteration", StringComparison.Ordinal)).ToList();
        Assert.Equal(8, passes.Count);
        Assert.All(passes, l => Assert.Equal(100, Share(l)));
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")));
        Assert.Equal("bfloat16", summary.RootElement.GetProperty("kmeans_precision").GetString());
    }

    [Fact]
    public void Job_BadInputs_AreClearErrors()
    {
        var (path, _) = Planted(50, 4, 2, 3);
        var out_ = TempDir();
        Assert.StartsWith("--ratio must be in (0, 1] (got 1.5)", Assert.Throws<Stella.Core.UserInputException>(() => CoresetJob.Run(new CoresetSettings { Features = path, Out = out_, Clusters = 2, Coincide = new() { Ratio = 1.5 } }, _ => { })).Message);
        Assert.StartsWith("--ratio must be in (0, 1] (got 0)", Assert.Throws<Stella.Core.UserInputException>(() => CoresetJob.Run(new CoresetSettings { Features = path, Out = out_, Clusters = 2, Coincide = new() { Ratio = 0 } }, _ => { })).Message);
        Assert.Equal("--clusters must be in [1, N] (got K = 51, N = 50)", Assert.Throws<Stella.Core.UserInputException>(() => CoresetJob.Run(new CoresetSettings { Features = path, Out = out_, Clusters = 51 }, _ => { })).Message);

        var ints = Path.Combine(TempDir(), "ints.npy");
        Npy.Write(ints, new long[] { 1, 2, 3 }, 3);
        Assert.Contains("dtype '<i8', expected float16 (<f2) or float32 (<f4)", Assert.Throws<InvalidDataException>(() => FeatureMatrix.Open(ints)).Message);
        var vector = Path.Combine(TempDir(), "vector.npy");
        Npy.Write(vector, new float[] { 1, 2, 3 }, 3);
        Assert.Contains("shape (3), expected a matrix [N, D]", Assert.Throws<InvalidDataException>(() => FeatureMatrix.Open(vector)).Message);

        var nan = Path.Combine(TempDir(), "nan.npy");
        Npy.Write(nan, new float[] { 1, 0, float.NaN, 1, 0, 1 }, 3, 2);
        var e = Assert.Throws<InvalidDataException>(() => CoresetJob.Run(new CoresetSettings { Features = nan, Out = out_, Clusters = 1, Coincide = new() { Layers = 1 } }, _ => { }));
        Assert.Contains("row 1 holds NaN or infinity", e.Message);
    }

    [Fact]
    public void Projection_RecoversPlantedClusters_AndReportsItsFullSpaceEffect()
    {
        var (path, truth) = Planted(600, 256, 6, 11, half: true);
        var dir = TempDir();
        CoresetJob.Run(new CoresetSettings { Features = path, Out = dir, Clusters = 6, Iterations = 10, PlusPlus = true, Project = 16, Coincide = new CoincideOptions { Ratio = 0.2, Transfer = TransferMode.Thesis } }, _ => { });
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")));
        var projection = summary.RootElement.GetProperty("projection");
        Assert.Equal(16, projection.GetProperty("Dims").GetInt32());
        Assert.Equal(600, projection.GetProperty("SampleRows").GetInt32());
        // Planted clusters survive a projection to 16 dimensions: every row is already in its nearest full-space centroid's cluster.
        Assert.Equal(1.0, projection.GetProperty("SampleAgreement").GetDouble());
        Assert.Equal(projection.GetProperty("SampleObjectiveBest").GetDouble(), projection.GetProperty("SampleObjectiveAssigned").GetDouble(), 6);

        // The reported full-space objective is the mean cosine of the rows to the written (full-space) centroids.
        var assignments = ReadInt32(Path.Combine(dir, "assignments.npy"));
        var (centroids, shape) = Npy.ReadFloat32(Path.Combine(dir, "centroids.npy"));
        Assert.Equal([6L, 256L], shape);
        using var x = FeatureMatrix.Open(path);
        var rows = new float[600 * 256];
        x.ReadRows(0, 600, rows);
        var mean = Enumerable.Range(0, 600).Average(i => Enumerable.Range(0, 256).Sum(j => rows[(i * 256) + j] * (double)centroids[(assignments[i] * 256) + j]));
        Assert.Equal(mean, summary.RootElement.GetProperty("kmeans_objective_full_space").GetDouble(), 1e-5);
        Assert.Equal(mean, projection.GetProperty("ObjectiveFullSpace").GetDouble(), 1e-5);
        foreach (var group in Enumerable.Range(0, 600).GroupBy(i => assignments[i]))
        {
            Assert.Single(group.Select(i => truth[i]).Distinct());
        }

        Assert.StartsWith("--project must be in [1, D) (got 256, D = 256)", Assert.Throws<Stella.Core.UserInputException>(() => CoresetJob.Run(new CoresetSettings { Features = path, Out = TempDir(), Clusters = 6, Project = 256, Coincide = new() { Layers = 2 } }, _ => { })).Message);
    }

    [Fact]
    public void RowBlocks_ReadTheNextBlockDuringTheBody_GiveEveryRowOnce_AndStopAtTheFirstBadBlock()
    {
        var (path, _) = Planted(103, 12, 3, 4, half: true);
        using var x = FeatureMatrix.Open(path);
        var all = new float[103 * 12];
        x.ReadRows(0, 103, all);
        var seen = new List<(int Start, float[] Rows)>();
        var source = new WatchedRows(new DenseRows(all, 103, 12));
        RowBlocks.Each(source, 10, TorchSharp.torch.CPU, (start, rows) =>
        {
            // Each body waits until the next block has been read (so reading does overlap the body), then takes its rows: the
            // read must not have written into the rows handed out.
            if (start + 10 < 103)
            {
                Assert.True(source.WaitForRead(start + 10, TimeSpan.FromSeconds(10)), $"the block at {start + 10} was not read during the body of the block at {start}");
            }

            seen.Add((start, rows.data<float>().ToArray()));
        });
        Assert.Equal(Enumerable.Range(0, 11).Select(b => b * 10), seen.Select(b => b.Start));
        Assert.Equal(all, seen.SelectMany(b => b.Rows));
        Assert.Equal(3 * 12, seen[^1].Rows.Length);

        // A bad row in the fourth block: the first three blocks reach the body, then the reader's error (naming the row) ends the pass.
        var data = all.ToArray();
        data[(34 * 12) + 1] = float.NaN;
        var bad = Path.Combine(TempDir(), "bad.npy");
        Npy.Write(bad, data, 103, 12);
        using var y = FeatureMatrix.Open(bad);
        var starts = new List<int>();
        Assert.Contains("row 34 holds NaN or infinity", Assert.Throws<InvalidDataException>(() => RowBlocks.Each(y, 10, TorchSharp.torch.CPU, (start, _) => starts.Add(start))).Message);
        Assert.Equal([0, 10, 20], starts);

        // A body that fails stops the pass with its own error, after the read it started has finished (a slow one here).
        var slow = new WatchedRows(new DenseRows(all, 103, 12), slowStart: 10);
        var e = Assert.Throws<InvalidOperationException>(() => RowBlocks.Each(slow, 10, TorchSharp.torch.CPU, (start, _) => throw new InvalidOperationException($"body at {start}")));
        Assert.Equal("body at 0", e.Message);
        Assert.True(slow.WaitForRead(10, TimeSpan.Zero), "Each returned while its read of the next block was still writing into its buffer");
    }

    /// <summary>A row source that records which blocks have been read, so a test can wait for one.</summary>
    private sealed class WatchedRows(IRowSource inner, int slowStart = -1) : IRowSource
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<int, ManualResetEventSlim> _read = new();

        public int Rows => inner.Rows;

        public int Dims => inner.Dims;

        public bool WaitForRead(int start, TimeSpan timeout) => Event(start).Wait(timeout);

        public void ReadRows(int start, int count, Span<float> destination)
        {
            if (start == slowStart)
            {
                Thread.Sleep(300);
            }

            inner.ReadRows(start, count, destination);
            Event(start).Set();
        }

        public void ReadRows(IReadOnlyList<int> rows, Span<float> destination) => inner.ReadRows(rows, destination);

        private ManualResetEventSlim Event(int start) => _read.GetOrAdd(start, _ => new ManualResetEventSlim());
    }

    [Fact]
    public void FeatureMatrix_NormalizesHugeFiniteRows_AndNamesTheFirstBadRowOfABlock()
    {
        var path = Path.Combine(TempDir(), "huge.npy");
        var data = new float[300 * 300];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (i % 7) + 1;
        }

        data.AsSpan(0, 300).Fill(1e30f);
        data[(250 * 300) + 5] = float.PositiveInfinity;
        data[(260 * 300) + 5] = float.NaN;
        Npy.Write(path, data, 300, 300);
        using var x = FeatureMatrix.Open(path);
        var row = new float[300];
        x.ReadRows(0, 1, row);
        Assert.All(row, v => Assert.Equal(1 / Math.Sqrt(300), v, 5));
        var block = new float[300 * 300];
        // 90,000 values: read in parallel; the error names the first bad row whatever thread met it.
        Assert.Contains("row 250 holds NaN or infinity", Assert.Throws<InvalidDataException>(() => x.ReadRows(0, 300, block)).Message);
    }

    [Fact]
    public async Task ParquetShards_GiveTheSameCoresetAsTheNpy_AndBrokenFoldersAreNamed()
    {
        var (path, truth) = Planted(300, 24, 3, 12);
        var (values, _) = Npy.ReadFloat32(path);
        var folder = TempDir();
        async Task Shard(string into, int shard, int numShards, int dims = 24, int? from = null)
        {
            var (first, count) = FeatureShards.Range(300, shard, numShards);
            var start = from ?? first;
            var rows = Enumerable.Range(start, count).Select(r => new FeatureRow { Row = r, Clip = $"clip{r}", Label = $"class{truth[r]}", Features = values.AsSpan(r * 24, dims).ToArray() }).ToList();
            await FeatureShards.WriteAsync(into, shard, numShards, 300, rows);
        }

        for (var s = 0; s < 3; s++)
        {
            await Shard(folder, s, 3);
        }

        var fromNpy = TempDir();
        var fromShards = TempDir();
        var settings = new CoresetSettings { Features = path, Out = fromNpy, Clusters = 3, Iterations = 5, Coincide = new CoincideOptions { Ratio = 0.2, Transfer = TransferMode.Thesis } };
        CoresetJob.Run(settings, _ => { });
        CoresetJob.Run(settings with { Features = folder, Out = fromShards }, _ => { });
        Assert.Equal(File.ReadAllBytes(Path.Combine(fromNpy, "indices.npy")), File.ReadAllBytes(Path.Combine(fromShards, "indices.npy")));
        Assert.Equal(Enumerable.Range(0, 300).Select(r => $"clip{r}"), File.ReadAllLines(Path.Combine(fromShards, "features.npy.clips.txt")));
        using (var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(fromShards, "summary.json"))))
        {
            // The shards' labels feed the coverage report without --labels.
            Assert.Equal(3, summary.RootElement.GetProperty("label_coverage").GetProperty("labels").GetInt32());
            Assert.Equal("assemble_shards", summary.RootElement.GetProperty("phases")[0].GetProperty("name").GetString());
        }

        string Error(string dir) => Assert.Throws<InvalidDataException>(() => CoresetJob.Run(settings with { Features = dir, Out = TempDir() }, _ => { })).Message;
        var gap = TempDir();
        await Shard(gap, 0, 3);
        await Shard(gap, 2, 3);
        Assert.Equal($"{gap}: 100 of 300 rows are in no shard (first: row 100); missing shard files: features-00001-of-00003.parquet", Error(gap));

        var twice = TempDir();
        await Shard(twice, 0, 3);
        await Shard(twice, 1, 3, from: 50);
        Assert.EndsWith("features-00001-of-00003.parquet: row 50 is also in another shard", Error(twice));

        var mixed = TempDir();
        await Shard(mixed, 0, 3);
        await Shard(mixed, 1, 3, dims: 12);
        Assert.Contains("shards of different extractions in one folder", Error(mixed));

        var broken = TempDir();
        await Shard(broken, 0, 1);
        File.WriteAllBytes(Path.Combine(broken, FeatureShards.FileName(0, 1)), [1, 2, 3]);
        Assert.Contains("features-00000-of-00001.parquet: damaged", Error(broken));
        var empty = TempDir();
        Assert.Equal($"{empty}: no Parquet feature shards (*.parquet) in the folder", Assert.Throws<FileNotFoundException>(() => CoresetJob.Run(settings with { Features = empty, Out = TempDir() }, _ => { })).Message);
    }

    private static int[] ReadInt32(string path)
    {
        using var stream = File.OpenRead(path);
        var header = Npy.ReadHeader(stream, path);
        Assert.Equal("<i4", header.Descr);
        var bytes = new byte[header.Count * 4];
        stream.ReadExactly(bytes);
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(bytes).ToArray();
    }

    private static (long[] Data, long[] Shape) ReadInt64(string path)
    {
        using var stream = File.OpenRead(path);
        var header = Npy.ReadHeader(stream, path);
        Assert.Equal("<i8", header.Descr);
        var bytes = new byte[header.Count * 8];
        stream.ReadExactly(bytes);
        return (System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(bytes).ToArray(), header.Shape);
    }
}
