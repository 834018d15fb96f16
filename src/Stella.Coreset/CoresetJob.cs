using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ScottPlot;
using Stella.Core;
using Stella.Core.Arrays;
using Stella.Core.Diagnostics;

namespace Stella.Coreset;

/// <summary>Settings of <c>stella coreset</c>.</summary>
public sealed record CoresetSettings
{
    /// <summary>The .npy feature file [N, D] (float16 or float32).</summary>
    public required string Features { get; init; }

    /// <summary>Output folder.</summary>
    public required string Out { get; init; }

    /// <summary>K.</summary>
    public int Clusters { get; init; } = 1000;

    /// <summary>coincide, random, semdedup, selfsup or nearest. Default coincide.</summary>
    public string Method { get; init; } = "coincide";

    /// <summary>k-means iterations. Default 20.</summary>
    public int Iterations { get; init; } = 20;

    /// <summary>Seed. Default 1234 (the reference's).</summary>
    public int Seed { get; init; } = 1234;

    /// <summary>Seed the centroids with k-means++ instead of the reference's random rows (one pass over the data per centroid). Default false.</summary>
    public bool PlusPlus { get; init; }

    /// <summary>
    /// Cluster in a seeded random projection to this many dimensions instead of the full space (0: exact, the default). The
    /// centroids are rebuilt in the full space afterwards and the effect on the full-space objective is measured and reported.
    /// </summary>
    public int Project { get; init; }

    /// <summary>
    /// Arithmetic of the k-means assignment: float32 (default, as faiss) or bfloat16 (GEMMs about 3x and passes about 2x faster where the processor
    /// has bfloat16 instructions; an approximation meant for the projected clustering, see <see cref="Coreset.KMeansPrecision"/>).
    /// </summary>
    public KMeansPrecision KMeansPrecision { get; init; } = KMeansPrecision.Float32;

    /// <summary>Rows of the exact full-space check of a projected clustering. Default 8,192.</summary>
    public int ProjectionCheckRows { get; init; } = 8_192;

    /// <summary>A text file with one label per row, to report how the coreset covers them.</summary>
    public string? Labels { get; init; }

    /// <summary>COINCIDE's own settings (ratio, tau, transferability).</summary>
    public CoincideOptions Coincide { get; init; } = new();
}

/// <summary>
/// <c>stella coreset</c>: cluster the features (spherical k-means), then select with COINCIDE or a baseline, and write indices.npy,
/// assignments.npy, centroids.npy, summary.json and report.md with plots. Each phase's time and peak RSS go into the summary.
/// </summary>
public static class CoresetJob
{
    /// <summary>The methods.</summary>
    public static readonly string[] Methods = ["coincide", "random", "semdedup", "selfsup", "nearest"];

    /// <summary>Runs the job; returns the summary path.</summary>
    public static string Run(CoresetSettings settings, Action<string> log)
    {
        var ratio = settings.Coincide.Ratio;
        if (!(ratio > 0 && ratio <= 1))
        {
            throw new UserInputException($"--ratio must be in (0, 1] (got {ratio.ToString(CultureInfo.InvariantCulture)})");
        }

        if (!Methods.Contains(settings.Method))
        {
            throw new UserInputException($"unknown --method '{settings.Method}': choose from {string.Join(", ", Methods)}");
        }

        Stella.Model.Runtime.TorchRuntime.PreferShortThreadSpins();
        Stella.Model.Runtime.TorchRuntime.Initialize();
        var phases = new List<object>();
        var featuresPath = settings.Features;
        var labelsPath = settings.Labels;
        if (Directory.Exists(featuresPath))
        {
            // A folder of Parquet feature shards (stella extract --shard): assembled once into a .npy next to the output.
            var assemble = Stopwatch.StartNew();
            featuresPath = Path.Combine(settings.Out, "features.npy");
            FeatureShards.ToNpyAsync(settings.Features, featuresPath, log).GetAwaiter().GetResult();
            phases.Add(Phase("assemble_shards", assemble));
            labelsPath ??= featuresPath + ".labels.txt";
        }

        using var x = FeatureMatrix.Open(featuresPath);
        if (settings.Clusters < 1 || settings.Clusters > x.Rows)
        {
            throw new UserInputException($"--clusters must be in [1, N] (got K = {settings.Clusters}, N = {x.Rows})");
        }

        var layers = settings.Coincide.Layers;
        if (settings.Method == "coincide" && settings.Coincide.Transfer == TransferMode.Reference && (layers < 1 || x.Dims % (2 * layers) != 0))
        {
            // Checked here, before any clustering: the transferability needs it only after all k-means iterations.
            throw new UserInputException(
                $"--layers {layers}: transferability 'reference' needs D divisible into {layers} layer blocks of two halves (D = {x.Dims}); give --layers " +
                "the number of layers the features hold (stella extract writes it beside its output), or use --transfer thesis");
        }

        var labels = labelsPath is null ? null : File.ReadAllLines(labelsPath);
        if (labels is not null && labels.Length != x.Rows)
        {
            throw new UserInputException($"{labelsPath}: {labels.Length} labels for {x.Rows} feature rows");
        }

        var budget = Math.Max(1, (int)(ratio * x.Rows));
        log($"coreset: {settings.Method}, N = {x.Rows}, D = {x.Dims}, K = {settings.Clusters}, budget {budget}");
        var (km, projection) = Cluster(x, settings, phases, log);
        var k = settings.Clusters;
        var members = Enumerable.Range(0, k).Select(_ => new List<int>()).ToArray();
        for (var i = 0; i < x.Rows; i++)
        {
            members[km.Assignments[i]].Add(i);
        }

        var memberArrays = members.Select(m => m.ToArray()).ToArray();
        var sizes = memberArrays.Select(m => m.Length).ToArray();

        // The baselines (but random) rank rows by their cosine to the centroid: one more pass, which COINCIDE does not need.
        double[] cosine = [];
        if (settings.Method is "nearest" or "selfsup" or "semdedup")
        {
            var pass = Stopwatch.StartNew();
            cosine = CosineToCentroid(x, km);
            phases.Add(Phase("cosine_to_centroid", pass));
        }

        int[] indices;
        ClusterScores? scores = null;
        var watch = Stopwatch.StartNew();
        switch (settings.Method)
        {
            case "coincide":
                (indices, scores) = RunCoincide(x, km, memberArrays, sizes, budget, settings.Coincide, phases, log);
                break;
            case "random":
                indices = Baselines.Random(x.Rows, budget, settings.Seed);
                break;
            case "nearest":
                indices = Baselines.Nearest(sizes, memberArrays, cosine, budget);
                break;
            case "selfsup":
                indices = Baselines.SelfSup(cosine, budget);
                break;
            default:
                indices = Baselines.SemDeDup(x, memberArrays, cosine, budget);
                break;
        }

        phases.Add(Phase("select", watch));
        // The random subset the label coverage is compared against (another seed than a --method random run's).
        var random = labels is null ? null : Baselines.Random(labels.Length, budget, settings.Seed + 1);
        Directory.CreateDirectory(settings.Out);
        Npy.Write(Path.Combine(settings.Out, "indices.npy"), indices.Select(i => (long)i).ToArray(), indices.Length);
        Npy.Write(Path.Combine(settings.Out, "assignments.npy"), km.Assignments, km.Assignments.Length);
        Npy.Write(Path.Combine(settings.Out, "centroids.npy"), km.Centroids, k, x.Dims);
        var summary = new
        {
            features = settings.Features, method = settings.Method, n = x.Rows, d = x.Dims, k, budget, selected = indices.Length,
            ratio, tau = settings.Coincide.Tau, transfer = settings.Coincide.Transfer.ToString().ToLowerInvariant(), seed = settings.Seed,
            iterations = settings.Iterations, kmeans_precision = KMeansPrecisions.Name(settings.KMeansPrecision), kmeans_objective = km.Objective.Select(o => Math.Round(o, 6)).ToArray(),
            kmeans_objective_full_space = Math.Round(projection?.ObjectiveFullSpace ?? km.Objective[^1], 6), projection,
            empty_clusters = sizes.Count(s => s == 0), phases,
            label_coverage = labels is null ? null : new
            {
                labels = labels.Distinct().Count(),
                covered = indices.Select(i => labels[i]).Distinct().Count(),
                covered_by_random = random!.Select(i => labels[i]).Distinct().Count(),
            },
        };
        var path = Path.Combine(settings.Out, "summary.json");
        File.WriteAllText(path, JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
        WriteReport(settings, x, km, projection, sizes, scores, indices, budget, labels, random);
        log($"selected {indices.Length} of {x.Rows} rows -> {settings.Out}");
        return path;
    }

    private static (int[] Indices, ClusterScores Scores) RunCoincide(FeatureMatrix x, KMeansResult km, int[][] members, int[] sizes, int budget, CoincideOptions options, List<object> phases, Action<string> log)
    {
        var k = sizes.Length;
        var watch = Stopwatch.StartNew();
        var s = Coincide.Transferability(km.Centroids, k, x.Dims, options);
        phases.Add(Phase("transferability", watch));
        watch.Restart();
        var density = new double[k];
        // One tensor for every cluster's rows (the largest cluster's size); each cluster's rows are read straight into it.
        using var rows = TorchSharp.torch.empty(sizes.Max(), x.Dims);
        float[] Gram(int c)
        {
            x.ReadRows(members[c], RowBlocks.Memory(rows)[..(sizes[c] * x.Dims)]);
            using var view = rows.narrow(0, 0, sizes[c]);
            return Coincide.GramSingle(view);
        }

        // Density and greedy MMD both need a cluster's n x n inner products. Reading the rows again for MMD is a second pass in
        // cluster order over the whole file (at LLaVA scale 27 GB of scattered reads, larger than the page cache), so the Gram
        // matrices are kept from the density pass while they fit in options.GramCacheBytes (LLaVA scale: 66.5 M entries, 266 MB).
        var kept = new float[]?[k];
        long keptBytes = 0;
        for (var c = 0; c < k; c++)
        {
            if (sizes[c] == 0)
            {
                density[c] = double.PositiveInfinity;
                continue;
            }

            var gram = Gram(c);
            density[c] = Coincide.DensityFromGram(gram, sizes[c]);
            if (keptBytes + ((long)gram.Length * sizeof(float)) <= options.GramCacheBytes)
            {
                kept[c] = gram;
                keptBytes += (long)gram.Length * sizeof(float);
            }
        }

        phases.Add(Phase("density", watch));
        log($"density: {kept.Count(g => g is not null)} of {sizes.Count(n => n > 0)} clusters' inner products kept for MMD ({keptBytes / (1 << 20)} MB)");
        var p = Coincide.Probability(s, density.Select(v => double.IsInfinity(v) ? double.MaxValue : v).ToArray(), options.Tau);
        var (order, quotas) = Coincide.Quotas(p, sizes, budget);
        for (var c = 0; c < k; c++)
        {
            if (quotas[c] == 0)
            {
                kept[c] = null;
            }
        }

        watch.Restart();
        var selected = new List<int>(budget);
        foreach (var c in order.Where(c => quotas[c] > 0))
        {
            selected.AddRange(Coincide.GreedyMmdFromGram(kept[c] ?? Gram(c), sizes[c], quotas[c]).Select(i => members[c][i]));
            kept[c] = null;
        }

        phases.Add(Phase("greedy_mmd", watch));
        log($"COINCIDE: {quotas.Count(q => q > 0)} clusters contribute; top P {p.Max():0.0000}");
        return (selected.ToArray(), new ClusterScores(sizes, s, density, p, order, quotas));
    }

    /// <summary>k-means in the full space, or (with --project) in a random projection with full-space centroids rebuilt and checked.</summary>
    private static (KMeansResult Km, ProjectionEffect? Projection) Cluster(FeatureMatrix x, CoresetSettings settings, List<object> phases, Action<string> log)
    {
        var kmeans = new SphericalKMeans(settings.Clusters, settings.Iterations, settings.Seed, plusPlus: settings.PlusPlus, progress: log, precision: settings.KMeansPrecision);
        if (settings.KMeansPrecision == KMeansPrecision.BFloat16 && !HasBFloat16Instructions())
        {
            log("warning: --kmeans-precision bfloat16 on a processor without bfloat16 instructions (no avx512_bf16 or amx_bf16 in /proc/cpuinfo): torch emulates them, which is slower than float32");
        }

        var watch = Stopwatch.StartNew();
        if (settings.Project <= 0)
        {
            var exact = kmeans.Fit(x);
            phases.Add(Phase("kmeans", watch));
            log($"k-means: {settings.Iterations} iterations in {exact.Seconds:0.0} s ({exact.ReadSeconds:0.0} s of it reading rows), objective (mean cosine) {exact.Objective[^1]:0.0000}");
            return (exact, null);
        }

        var projected = RandomProjection.Project(x, settings.Project, settings.Seed);
        phases.Add(Phase("projection", watch));
        log($"projected {x.Rows} x {x.Dims} -> {settings.Project} dimensions in {watch.Elapsed.TotalSeconds:0.0} s");
        watch.Restart();
        var km = kmeans.Fit(projected);
        phases.Add(Phase("kmeans", watch));
        log($"k-means (projected): {settings.Iterations} iterations in {km.Seconds:0.0} s ({km.ReadSeconds:0.0} s of it reading rows), objective there {km.Objective[^1]:0.0000}");
        watch.Restart();
        var (centroids, objective) = RandomProjection.FullSpaceCentroids(x, km.Assignments, settings.Clusters);
        phases.Add(Phase("full_space_centroids", watch));
        watch.Restart();
        var check = RandomProjection.Check(x, centroids, km.Assignments, settings.ProjectionCheckRows, settings.Seed);
        phases.Add(Phase("projection_check", watch));
        var effect = new ProjectionEffect(settings.Project, Math.Round(km.Objective[^1], 6), Math.Round(objective, 6), check.Rows, Math.Round(check.Agreement, 6), Math.Round(check.Assigned, 6), Math.Round(check.Best, 6));
        log($"full space: objective {objective:0.0000}; on {check.Rows} rows {check.Agreement:P1} in their nearest centroid's cluster, cosine {check.Assigned:0.0000} assigned vs {check.Best:0.0000} nearest");
        return (km with { Centroids = centroids }, effect);
    }

    /// <summary>Whether this x86 Linux CPU multiplies bfloat16 natively (assumed elsewhere, where /proc/cpuinfo does not say).</summary>
    private static bool HasBFloat16Instructions()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (!File.Exists(cpuinfo))
        {
            return true;
        }

        var flags = File.ReadLines(cpuinfo).FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
        return flags is null || flags.Contains(" avx512_bf16", StringComparison.Ordinal) || flags.Contains(" amx_bf16", StringComparison.Ordinal);
    }

    private static double[] CosineToCentroid(FeatureMatrix x, KMeansResult km)
    {
        var cosine = new double[x.Rows];
        using var centroids = TorchSharp.torch.tensor(km.Centroids, [km.Centroids.Length / x.Dims, x.Dims]);
        RowBlocks.Each(x, RowBlocks.Auto(x.Dims), TorchSharp.torch.CPU, (start, rows) =>
            RowBlocks.OwnSimilarity(rows, centroids, km.Assignments.AsSpan(start, (int)rows.shape[0])).Similarity
                .to_type(TorchSharp.torch.ScalarType.Float64).data<double>().CopyTo(cosine, start, 0));
        return cosine;
    }

    private static object Phase(string name, Stopwatch watch) => new { name, seconds = Math.Round(watch.Elapsed.TotalSeconds, 3), peak_rss_mb = ProcessMemory.PeakRssMb() is { } peak ? Math.Round(peak, 1) : (double?)null };

    private static void WriteReport(CoresetSettings settings, FeatureMatrix x, KMeansResult km, ProjectionEffect? projection, int[] sizes, ClusterScores? scores, int[] indices, int budget, string[]? labels, int[]? random)
    {
        var sizePlot = new Plot();
        var sorted = sizes.OrderByDescending(v => v).Select(v => (double)v).ToArray();
        sizePlot.Add.Scatter(Enumerable.Range(0, sorted.Length).Select(i => (double)i).ToArray(), sorted).MarkerSize = 0;
        sizePlot.Title("cluster sizes (descending)");
        sizePlot.XLabel("cluster rank");
        sizePlot.YLabel("rows");
        sizePlot.SavePng(Path.Combine(settings.Out, "cluster_sizes.png"), 700, 400);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"# Coreset: {settings.Method}\n\n{settings.Features}: N = {x.Rows}, D = {x.Dims}; K = {sizes.Length}; budget {budget} ({settings.Coincide.Ratio:P0}); selected {indices.Length}.\n\n");
        sb.Append(CultureInfo.InvariantCulture, $"k-means objective (mean cosine to the assigned centroid) by iteration: {string.Join(", ", km.Objective.Select(o => o.ToString("0.0000", CultureInfo.InvariantCulture)))}.\n\n");
        if (projection is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $"Clustered in a random projection to {projection.Dims} dimensions (`--project`): objective there {projection.ObjectiveProjected:0.0000}; in the full space, with centroids rebuilt from the assignments, {projection.ObjectiveFullSpace:0.0000}. ");
            sb.Append(CultureInfo.InvariantCulture, $"Exact full-space check on {projection.SampleRows} seeded rows: {projection.SampleAgreement:P1} already sit in their nearest full-space centroid's cluster; mean cosine {projection.SampleObjectiveAssigned:0.0000} to the assigned centroid against {projection.SampleObjectiveBest:0.0000} to the nearest.\n\n");
        }

        sb.Append("![cluster sizes](cluster_sizes.png)\n\n");
        if (scores is not null)
        {
            var pPlot = new Plot();
            var ps = scores.Order.Select(c => scores.Probability[c]).ToArray();
            pPlot.Add.Scatter(Enumerable.Range(0, ps.Length).Select(i => (double)i).ToArray(), ps).MarkerSize = 0;
            pPlot.Title("P_i in descending order");
            pPlot.XLabel("cluster rank");
            pPlot.YLabel("P_i");
            pPlot.SavePng(Path.Combine(settings.Out, "p.png"), 700, 400);
            sb.Append(CultureInfo.InvariantCulture, $"Transferability: {settings.Coincide.Transfer}; tau {settings.Coincide.Tau}. Clusters contributing: {scores.Quotas.Count(q => q > 0)} of {sizes.Length}.\n\n![P](p.png)\n\n");
            sb.Append("| rank | cluster | n_i | S_i | D_i | P_i | q_i |\n|---|---|---|---|---|---|---|\n");
            foreach (var (c, rank) in scores.Order.Take(10).Select((c, r) => (c, r)))
            {
                sb.Append(CultureInfo.InvariantCulture, $"| {rank + 1} | {c} | {sizes[c]} | {scores.Transferability[c]:0.0000} | {scores.Density[c]:0.0000} | {scores.Probability[c]:0.0000} | {scores.Quotas[c]} |\n");
            }

            sb.Append('\n');
        }

        if (labels is not null && random is not null)
        {
            var all = labels.GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
            var ours = indices.GroupBy(i => labels[i]).ToDictionary(g => g.Key, g => g.Count());
            var theirs = random.GroupBy(i => labels[i]).ToDictionary(g => g.Key, g => g.Count());
            var ranked = all.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).ToList();
            var rank = Enumerable.Range(0, ranked.Count).Select(i => (double)i).ToArray();
            var coveragePlot = new Plot();
            var mine = coveragePlot.Add.Scatter(rank, ranked.Select(p => 100.0 * ours.GetValueOrDefault(p.Key) / p.Value).ToArray());
            mine.LegendText = settings.Method;
            mine.MarkerSize = ranked.Count > 200 ? 0 : 4;
            var other = coveragePlot.Add.Scatter(rank, ranked.Select(p => 100.0 * theirs.GetValueOrDefault(p.Key) / p.Value).ToArray());
            other.LegendText = "random (same size)";
            other.MarkerSize = mine.MarkerSize;
            coveragePlot.Title("share of each label's rows kept");
            coveragePlot.XLabel("label, by rows (descending)");
            coveragePlot.YLabel("% kept");
            coveragePlot.ShowLegend(Alignment.UpperRight);
            coveragePlot.SavePng(Path.Combine(settings.Out, "coverage.png"), 700, 400);
            sb.Append(CultureInfo.InvariantCulture, $"Label coverage: {ours.Count} of {all.Count} labels in the coreset, {theirs.Count} in a random subset of the same size.\n\n![coverage](coverage.png)\n\n| label | rows | coreset | random |\n|---|---|---|---|\n");
            foreach (var (label, count) in all.OrderByDescending(p => p.Value).Take(30))
            {
                sb.Append(CultureInfo.InvariantCulture, $"| {label} | {count} | {ours.GetValueOrDefault(label)} | {theirs.GetValueOrDefault(label)} |\n");
            }
        }

        File.WriteAllText(Path.Combine(settings.Out, "report.md"), sb.ToString());
    }
}
