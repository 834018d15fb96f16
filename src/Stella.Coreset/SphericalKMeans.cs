using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Coreset;

/// <summary>Result of <see cref="SphericalKMeans"/>.</summary>
/// <param name="Centroids">Unit centroids [K * D].</param>
/// <param name="Assignments">Cluster of each row.</param>
/// <param name="Objective">Mean cosine of the rows to their centroid after each iteration's assignment (higher is better).</param>
/// <param name="Seconds">Wall time.</param>
public sealed record KMeansResult(float[] Centroids, int[] Assignments, IReadOnlyList<double> Objective, double Seconds);

/// <summary>
/// Spherical k-means as the reference runs faiss (spherical=True): initial centroids = the first K rows of a seeded random
/// permutation; each iteration assigns every row to the centroid of highest inner product (a GEMM per block of rows, on the
/// configured device), then sets each centroid to the normalized mean of its rows; an empty cluster takes over the largest one
/// (its centroid copied with a 1/1024 perturbation in opposite directions, as faiss splits). Rows stream from the file a block at a
/// time, so memory holds K x D plus one block.
/// </summary>
public sealed class SphericalKMeans(int clusters, int iterations = 20, int seed = 1234, int blockRows = 0, Device? device = null, bool plusPlus = false, Action<string>? progress = null, bool prune = true)
{
    /// <summary>Clusters <paramref name="x"/>.</summary>
    public KMeansResult Fit(IRowSource x)
    {
        if (clusters < 1 || clusters > x.Rows)
        {
            throw new ArgumentException($"--clusters must be in [1, N] (got K = {clusters}, N = {x.Rows})");
        }

        var watch = Stopwatch.StartNew();
        var dev = device ?? CPU;
        var d = x.Dims;
        var rng = new Random(seed);
        var permutation = Enumerable.Range(0, x.Rows).ToArray();
        rng.Shuffle(permutation);
        var init = new float[clusters * d];
        x.ReadRows(plusPlus ? PlusPlus(x, rng) : permutation.Take(clusters).ToList(), init);
        using var centroids = tensor(init, [clusters, d], device: dev);
        var assignments = new int[x.Rows];
        var objective = new List<double>();
        // Pruning state: per row an upper bound on its similarity to every centroid but its own (null until a full pass).
        float[]? others = null;
        double drift = 0;
        for (var it = 0; it < iterations; it++)
        {
            using var sums = zeros(clusters, d, device: dev);
            using var counts = zeros(clusters, dtype: ScalarType.Int64, device: dev);
            var (value, recomputed) = Assign(x, centroids, assignments, sums, counts, ref others, drift);
            objective.Add(value);
            using var before = centroids.clone();
            Update(centroids, sums, counts);
            drift = prune ? (centroids - before).norm(1).max().to_type(ScalarType.Float64).item<double>() : double.PositiveInfinity;
            progress?.Invoke($"k-means iteration {it + 1}/{iterations}: objective {objective[^1]:0.00000}, {recomputed:P0} of rows compared with every centroid, {watch.Elapsed.TotalSeconds:0} s");
        }

        // Final assignment against the final centroids, so assignments and centroids agree.
        objective.Add(Assign(x, centroids, assignments, null, null, ref others, drift).Objective);
        return new KMeansResult(centroids.cpu().data<float>().ToArray(), assignments, objective, watch.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// k-means++ seeding on the sphere: each next centre is drawn with probability proportional to the squared distance
    /// (2 - 2 cos) to the nearest centre so far. It costs one pass over the data per centre, so it is an option for small K, not
    /// the default (the reference seeds at random).
    /// </summary>
    private List<int> PlusPlus(IRowSource x, Random rng)
    {
        var d = x.Dims;
        var chosen = new List<int> { rng.Next(x.Rows) };
        var nearest = Enumerable.Repeat(double.PositiveInfinity, x.Rows).ToArray();
        var centre = new float[d];
        var row = new float[d];
        while (chosen.Count < clusters)
        {
            x.ReadRows(chosen[^1], 1, centre);
            for (var i = 0; i < x.Rows; i++)
            {
                x.ReadRows(i, 1, row);
                double dot = 0;
                for (var j = 0; j < d; j++)
                {
                    dot += row[j] * (double)centre[j];
                }

                nearest[i] = Math.Min(nearest[i], Math.Max(0, 2 - (2 * dot)));
            }

            var total = nearest.Sum();
            var target = rng.NextDouble() * total;
            var pick = 0;
            for (double acc = 0; pick < x.Rows - 1; pick++)
            {
                acc += nearest[pick];
                if (acc >= target && nearest[pick] > 0)
                {
                    break;
                }
            }

            chosen.Add(pick);
        }

        return chosen;
    }

    /// <summary>
    /// One pass over the rows: each row's best centroid into <paramref name="assignments"/>, and (when given) the rows summed and
    /// counted per centroid for the update; returns the mean cosine to the assigned centroid and the share of rows compared with
    /// every centroid.
    /// Exact pruning (in the manner of Hamerly's bounds, one global drift): a unit row's similarity to a centroid moves by at most
    /// the centroid's drift, so a row whose similarity to its own (moved) centroid is at least its last second-best similarity
    /// plus the largest drift keeps its centroid without the GEMM against all K. Once clusters settle most rows take this path;
    /// the assignment is the one the full comparison would give (ties and float rounding aside: a 1e-6 margin sends doubtful rows
    /// to the full comparison).
    /// </summary>
    private (double Objective, double Recomputed) Assign(IRowSource x, Tensor centroids, int[] assignments, Tensor? sums, Tensor? counts, ref float[]? others, double drift)
    {
        double total = 0;
        long full = 0;
        var k = (int)centroids.shape[0];
        var bounds = others;
        var first = bounds is null || double.IsInfinity(drift);
        bounds ??= new float[x.Rows];
        RowBlocks.Each(x, blockRows > 0 ? blockRows : RowBlocks.Auto(Math.Max(x.Dims, k)), centroids.device, (start, rows) =>
        {
            var n = (int)rows.shape[0];
            Tensor best, index, second;
            if (first)
            {
                (best, index, second) = Full(rows, centroids, k, prune);
                full += n;
            }
            else
            {
                var (own, ownSim) = RowBlocks.OwnSimilarity(rows, centroids, assignments.AsSpan(start, n));
                var bound = tensor(bounds.AsSpan(start, n).ToArray(), device: centroids.device) + (float)drift;
                var doubtful = (ownSim - 1e-6f).lt(bound).nonzero().squeeze(1);
                best = ownSim;
                index = own;
                second = bound;
                var m = (int)doubtful.shape[0];
                if (m > 0)
                {
                    var (b, i, s) = Full(rows.index_select(0, doubtful), centroids, k, true);
                    best = best.index_copy(0, doubtful, b);
                    index = index.index_copy(0, doubtful, i);
                    second = second.index_copy(0, doubtful, s);
                    full += m;
                }
            }

            total += best.sum().to_type(ScalarType.Float64).item<double>();
            sums?.index_add_(0, index, rows, 1);
            counts?.index_add_(0, index, ones_like(index), 1);
            index.cpu().data<long>().ToArray().Select(v => (int)v).ToArray().CopyTo(assignments, start);
            second.cpu().data<float>().ToArray().CopyTo(bounds, start);
        });

        others = bounds;
        return (total / x.Rows, (double)full / x.Rows);
    }

    /// <summary>Best similarity, its centroid and the second-best similarity of each row (GEMM against all K).</summary>
    private static (Tensor Best, Tensor Index, Tensor Second) Full(Tensor rows, Tensor centroids, int k, bool second)
    {
        var scores = rows.matmul(centroids.t());
        if (k == 1)
        {
            return (scores.squeeze(1), zeros(rows.shape[0], dtype: ScalarType.Int64, device: rows.device), full(rows.shape[0], float.NegativeInfinity, device: rows.device));
        }

        var (best, index) = scores.max(1);
        if (!second)
        {
            return (best, index, full(rows.shape[0], float.PositiveInfinity, device: rows.device));
        }

        // The second best: the best again with the first masked (two max passes; the whole k-means took 18.9 s with topk(2), 18.2 s so).
        scores.scatter_(1, index.unsqueeze(1), full(rows.shape[0], 1, float.NegativeInfinity, device: rows.device));
        return (best, index, scores.max(1).values);
    }

    private static void Update(Tensor centroids, Tensor sums, Tensor counts)
    {
        var count = counts.cpu().data<long>().ToArray();
        var sum = sums.cpu().data<float>().ToArray();
        var k = count.Length;
        var d = sum.Length / k;
        var next = new float[sum.Length];
        var current = centroids.cpu().data<float>().ToArray();
        for (var c = 0; c < k; c++)
        {
            Array.Copy(count[c] > 0 ? sum : current, c * d, next, c * d, d);
        }

        // Empty clusters: split the currently largest cluster in two (faiss' rule), largest first.
        for (var c = 0; c < k; c++)
        {
            if (count[c] > 0)
            {
                continue;
            }

            var donor = Array.IndexOf(count, count.Max());
            for (var j = 0; j < d; j++)
            {
                var v = next[(donor * d) + j];
                var sign = (j % 2 == 0) ? 1f : -1f;
                next[(c * d) + j] = v * (1 + (sign / 1024f));
                next[(donor * d) + j] = v * (1 - (sign / 1024f));
            }

            count[c] = count[donor] / 2;
            count[donor] -= count[c];
        }

        for (var c = 0; c < k; c++)
        {
            var row = next.AsSpan(c * d, d);
            double norm = 0;
            foreach (var v in row)
            {
                norm += v * (double)v;
            }

            if (norm > 0)
            {
                var scale = (float)(1 / Math.Sqrt(norm));
                for (var j = 0; j < d; j++)
                {
                    row[j] *= scale;
                }
            }
        }

        centroids.copy_(tensor(next, [k, d], device: centroids.device));
    }
}
