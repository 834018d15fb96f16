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
public sealed class SphericalKMeans(int clusters, int iterations = 20, int seed = 1234, int blockRows = 0, Device? device = null, bool plusPlus = false, Action<string>? progress = null)
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
        for (var it = 0; it < iterations; it++)
        {
            using var sums = zeros(clusters, d, device: dev);
            using var counts = zeros(clusters, dtype: ScalarType.Int64, device: dev);
            objective.Add(Assign(x, centroids, assignments, sums, counts));
            Update(centroids, sums, counts);
            progress?.Invoke($"k-means iteration {it + 1}/{iterations}: objective {objective[^1]:0.00000}, {watch.Elapsed.TotalSeconds:0} s");
        }

        // Final assignment against the final centroids, so assignments and centroids agree.
        objective.Add(Assign(x, centroids, assignments, null, null));
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
    /// counted per centroid for the update; returns the mean cosine to the assigned centroid.
    /// </summary>
    private double Assign(IRowSource x, Tensor centroids, int[] assignments, Tensor? sums, Tensor? counts)
    {
        double total = 0;
        RowBlocks.Each(x, blockRows > 0 ? blockRows : RowBlocks.Auto(Math.Max(x.Dims, clusters)), centroids.device, (start, rows) =>
        {
            var (best, index) = rows.matmul(centroids.t()).max(1);
            total += best.sum().to_type(ScalarType.Float64).item<double>();
            sums?.index_add_(0, index, rows, 1);
            counts?.index_add_(0, index, ones_like(index), 1);
            index.cpu().data<long>().ToArray().Select(v => (int)v).ToArray().CopyTo(assignments, start);
        });

        return total / x.Rows;
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
