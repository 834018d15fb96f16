using System.Diagnostics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Coreset;

/// <summary>Arithmetic of k-means' assignment GEMM.</summary>
public enum KMeansPrecision
{
    /// <summary>float32: the assignment faiss computes (the default).</summary>
    Float32,

    /// <summary>
    /// bfloat16 inputs for the assignment GEMM (rows converted once, centroids once a pass), the best score's centroid taken, then
    /// the row's similarity to it, the objective and the centroid update in float32. Scores carry about 3 significant digits, so
    /// a row whose two best centroids lie within about 0.01 of each other may take the second (scores equal after rounding go to
    /// the lower-numbered centroid): an approximation, for the
    /// projected clustering of very wide features (whose projection distorts cosines far more). Fast only where the processor
    /// multiplies bfloat16 natively (x86 AVX-512 BF16 or AMX, recent GPUs); no per-group pruning.
    /// </summary>
    BFloat16,
}

/// <summary>The names of <see cref="KMeansPrecision"/> on the command line (--kmeans-precision) and in summary.json.</summary>
public static class KMeansPrecisions
{
    /// <summary>float32 or bfloat16.</summary>
    public static string Name(KMeansPrecision precision) => precision == KMeansPrecision.BFloat16 ? "bfloat16" : "float32";

    /// <summary>The precision named <paramref name="name"/>; any other name is a user error that lists the two.</summary>
    public static KMeansPrecision Parse(string name) => name switch
    {
        "float32" => KMeansPrecision.Float32,
        "bfloat16" => KMeansPrecision.BFloat16,
        _ => throw new Stella.Core.UserInputException($"--kmeans-precision must be 'float32' or 'bfloat16' (got '{name}')"),
    };
}

/// <summary>Result of <see cref="SphericalKMeans"/>.</summary>
/// <param name="Centroids">Unit centroids [K * D].</param>
/// <param name="Assignments">Cluster of each row.</param>
/// <param name="Objective">Mean cosine of the rows to their centroid after each iteration's assignment (higher is better).</param>
/// <param name="Seconds">Wall time of the whole fit, reading the rows included.</param>
/// <param name="ReadSeconds">Of <paramref name="Seconds"/>, reading the initial centroids and (when they fit in memory) every row before the first pass (k-means++ seeding not included).</param>
public sealed record KMeansResult(float[] Centroids, int[] Assignments, IReadOnlyList<double> Objective, double Seconds, double ReadSeconds);

/// <summary>
/// Spherical k-means as the reference runs faiss (spherical=True): initial centroids = the first K rows of a seeded random
/// permutation; each iteration assigns every row to the centroid of highest inner product (a GEMM per block of rows, on the
/// configured device), then sets each centroid to the normalized mean of its rows; an empty cluster takes over the largest one
/// (its centroid copied with a 1/1024 perturbation in opposite directions, as faiss splits). Rows up to
/// <see cref="InMemoryBytes"/> are read once and held (in bfloat16 mode a bfloat16 copy beside them, half as large); larger files
/// stream from disk a block at a time, so memory holds K x D, two blocks (one read while the other is compared) and the bounds.
/// </summary>
/// <remarks>
/// Exact pruning with per-group bounds (Yinyang k-means, Ding et al. 2015, on similarities): the centroids are split into G groups
/// of consecutive indices (the initial centroids are random rows, so a group is a random sample of them); each row keeps, per
/// group, an upper bound on its similarity to that group's centroids other than its own. After an update a unit row's similarity
/// to a centroid moves by at most that centroid's drift (the L2 norm of its move), so each group bound grows by the group's
/// largest drift. A row whose exact similarity to its own (moved) centroid is at least every group bound keeps its centroid
/// without the GEMM against all K; only the others are compared with every centroid (and get fresh bounds). With one global
/// bound a single far-moving centroid of 10,000 sends every row to the full comparison; per group it only loosens its own group.
/// The assignment is the one the full comparison gives (float rounding aside: a 1e-5 margin sends near ties to the full
/// comparison). Nothing of this is in a library TorchSharp reaches (faiss has no pruning), hence by hand.
/// </remarks>
public sealed class SphericalKMeans(int clusters, int iterations = 20, int seed = 1234, int blockRows = 0, Device? device = null, bool plusPlus = false, Action<string>? progress = null, bool prune = true, int groups = 0, int pruneFromWidth = SphericalKMeans.PruneFromWidth, KMeansPrecision precision = KMeansPrecision.Float32)
{
    /// <summary>Feature matrices up to this size are read into memory once instead of once per pass.</summary>
    public const long InMemoryBytes = 2L << 30;

    /// <summary>The per-group bounds take at most this many bytes (N x G float32), which caps G for large N.</summary>
    public const long BoundBytes = 256L << 20;

    /// <summary>Rows at least this wide are pruned with the group bounds; narrower ones only from <see cref="PruneFromClusters"/> centroids on.</summary>
    public const int PruneFromWidth = 128;

    /// <summary>From this many centroids on, rows narrower than <see cref="PruneFromWidth"/> are pruned too.</summary>
    public const int PruneFromClusters = 8_000;

    private static readonly Scalar Margin = 1e-5f.ToScalar();
    private static readonly Scalar One = Stella.Model.Runtime.Scalars.One;
    private static readonly Scalar Zero = Stella.Model.Runtime.Scalars.Zero;
    private static readonly Scalar NegativeInfinity = Stella.Model.Runtime.Scalars.NegativeInfinity;

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
        var seeds = plusPlus ? PlusPlus(x, rng) : permutation.Take(clusters).ToList();
        var reading = Stopwatch.StartNew();
        x.ReadRows(seeds, init);
        using var centroids = tensor(init, [clusters, d], device: dev);
        using var held = (long)x.Rows * d * sizeof(float) <= InMemoryBytes ? ReadAll(x, dev) : null;
        var readSeconds = reading.Elapsed.TotalSeconds;
        var low = precision == KMeansPrecision.BFloat16;
        using var held16 = low && held is not null ? held.to_type(ScalarType.BFloat16) : null;
        var pass = new Pass(x, held, held16, blockRows > 0 ? blockRows : BlockRows(d), Layout(x.Rows), dev);
        using var assigned = zeros(x.Rows, dtype: ScalarType.Int64, device: dev);
        // At small widths comparing a row with every centroid costs little more than the bookkeeping that would skip it: at
        // N = 100,000, D = 64 (2 cores) pruning took 2.3 s at K = 500 and 3.9 s at K = 1,000, plain passes 1.4 s and 2.5 s; at
        // D = 256 pruning wins (K = 500: 4.0 s against 4.5 s). So rows narrower than PruneFromWidth are compared in full, unless
        // the centroids are many: at D = 64 (pairs of fits, 2026-12-01) K = 3,000 took 10.1-10.3 s plain, 12.8-14.8 s pruned;
        // K = 6,000 was even (17.1-22.1 s either way); K = 10,000 took 32.5-47.5 s plain (6 fits) and 25.5-34.9 s pruned (5 fits;
        // pruned faster in each of 5 back-to-back pairs), where the scores no longer fit the caches and skipping rows saves memory traffic, not flops.
        var pruning = prune && (d >= pruneFromWidth || clusters >= PruneFromClusters) && !low;
        using var bounds = pruning ? empty(x.Rows, pass.Groups, device: dev) : null;
        var objective = new List<double>();
        Tensor? groupDrift = null;
        try
        {
            for (var it = 0; it < iterations; it++)
            {
                // Every temporary of the iteration lives in this scope: a tensor left to the finalizer can be freed while a native
                // call still reads it (the SIGSEGV of issue 16: THSTensor_copy_ from a temporary the finalizer had freed).
                using var scope = NewDisposeScope();
                var sums = zeros(clusters, d, device: dev);
                var counts = zeros(clusters, dtype: ScalarType.Int64, device: dev);
                var (value, recomputed) = Assign(pass, centroids, low, assigned, bounds, groupDrift, sums, counts);
                objective.Add(value);
                var drift = Update(centroids, sums, counts, d);
                groupDrift?.Dispose();
                groupDrift = pruning ? pass.GroupMax(drift.unsqueeze(0)).squeeze(0).MoveToOuterDisposeScope() : null;
                progress?.Invoke($"k-means iteration {it + 1}/{iterations}: objective {objective[^1]:0.00000}, {recomputed:P0} of rows compared with every centroid, {watch.Elapsed.TotalSeconds:0} s");
            }

            // Final assignment against the final centroids, so assignments and centroids agree.
            objective.Add(Assign(pass, centroids, low, assigned, bounds, groupDrift, null, null).Objective);
        }
        finally
        {
            groupDrift?.Dispose();
        }

        using var finalCentroids = centroids.cpu();
        using var finalAssigned = assigned.cpu();
        var assignments = finalAssigned.data<long>().Select(v => (int)v).ToArray();
        return new KMeansResult(finalCentroids.data<float>().ToArray(), assignments, objective, watch.Elapsed.TotalSeconds, readSeconds);
    }

    /// <summary>
    /// Rows a block: the general rule (a block's rows or scores within 16 MB, at most 4,096 rows), and up to 8,192 rows while a
    /// block's scores stay within 8 MB and its rows within 16 MB: with few, narrow centroids a 4,096-row block is too little work
    /// for its fixed cost. Measured at N = 100,000 (2 cores, medians of 7 alternating fits): D 64, K 100: 0.51 s with 4,096 rows,
    /// 0.43 s with 8,192, 0.48 s with 16,384; D 256, K 100: 1.19 / 1.18 / 1.23 s; at K 500 and 1,000 larger blocks were slower
    /// (D 64, K 500: 1.49 s with 4,096, 1.85 s with 8,192), which the 8 MB bound keeps at about 4,096 (4,194). Rows narrower than
    /// <see cref="PruneFromWidth"/> against at most 1,000 centroids (compared in full) keep their scores within 4 MB instead
    /// (cache-resident while their maximum is taken): D 64, K 500 (medians of 5, twice) 2.39 / 2.52 s with 4,194 rows, 1.89 /
    /// 1.93 s with 2,048; K 1,000 (medians of 3, twice) 3.82 / 4.53 s with 4,096 rows, 3.60 / 4.06 s with 1,024. Not measured
    /// for more centroids, where the general rule stays.
    /// </summary>
    private int BlockRows(int d)
    {
        if (d < pruneFromWidth && clusters <= 1_000)
        {
            return Math.Min(8_192, Math.Min((1 << 20) / Math.Max(1, clusters), (4 << 20) / d));
        }

        return Math.Max(RowBlocks.Auto(Math.Max(d, clusters)), Math.Min(8_192, Math.Min((2 << 20) / Math.Max(1, clusters), (4 << 20) / d)));
    }

    /// <summary>Groups of consecutive centroids: about 10 centroids a group (Yinyang's K / 10), fewer groups when N x G would pass <see cref="BoundBytes"/>.</summary>
    private (int Groups, int Size) Layout(int rows)
    {
        var g = groups > 0 ? groups : (int)Math.Clamp(Math.Min(clusters / 10, BoundBytes / sizeof(float) / rows), 1, clusters);
        var size = (clusters + g - 1) / g;
        return ((clusters + size - 1) / size, size);
    }

    private static Tensor ReadAll(IRowSource x, Device dev)
    {
        var all = empty(x.Rows, x.Dims);
        var memory = RowBlocks.Memory(all);
        var step = Math.Max(1, (1 << 24) / x.Dims);
        for (var start = 0; start < x.Rows; start += step)
        {
            var n = Math.Min(step, x.Rows - start);
            x.ReadRows(start, n, memory.Slice(start * x.Dims, n * x.Dims));
        }

        if (dev.type == DeviceType.CPU)
        {
            return all;
        }

        using (all)
        {
            return all.to(dev);
        }
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
    /// One pass over the rows: each row's best centroid into <paramref name="assigned"/>, and (when given) the rows summed and
    /// counted per centroid for the update; returns the mean cosine to the assigned centroid and the share of rows compared with
    /// every centroid. Without <paramref name="groupDrift"/> (the first pass, or no pruning) every row is compared with every centroid.
    /// With <paramref name="low"/> the comparison is in bfloat16 (the centroids converted once here) and the chosen centroid's
    /// similarity in float32.
    /// </summary>
    private static (double Objective, double Recomputed) Assign(Pass pass, Tensor centroids, bool low, Tensor assigned, Tensor? bounds, Tensor? groupDrift, Tensor? sums, Tensor? counts)
    {
        using var centroids16 = low ? centroids.to_type(ScalarType.BFloat16) : null;
        double total = 0;
        long full = 0;
        var onCpu = centroids.device_type == DeviceType.CPU;
        pass.Each((start, rows) =>
        {
            var n = (int)rows.shape[0];
            var own = assigned.narrow(0, start, n);
            var bound = bounds?.narrow(0, start, n);
            Tensor best;
            if (centroids16 is not null)
            {
                // max, not argmax: torch's argmax over bfloat16 took 7.8 ms for a 419 x 10,000 block, max 2.0 ms (the GEMM 5.3 ms).
                own.copy_(nn.functional.linear(pass.Rows16(start, rows), centroids16).max(1).indexes);
                best = onCpu ? OwnSimilarity(rows, centroids, own) : rows.mul(centroids.index_select(0, own)).sum(1);
                full += n;
            }
            else if (groupDrift is null || bound is null)
            {
                var (b, index, groupBest) = pass.Full(rows, centroids, bound is not null);
                own.copy_(index);
                bound?.copy_(groupBest!);
                best = b;
                full += n;
            }
            else
            {
                best = onCpu ? OwnSimilarity(rows, centroids, own) : rows.mul(centroids.index_select(0, own)).sum(1);
                bound.add_(groupDrift.unsqueeze(0), One);
                var doubtful = bound.amax(1).add_(Margin, One).gt(best).nonzero().squeeze(1);
                var m = (int)doubtful.shape[0];
                if (m > 0)
                {
                    var (b, index, groupBest) = pass.Full(rows.index_select(0, doubtful), centroids, true);
                    best.index_copy_(0, doubtful, b);
                    own.index_copy_(0, doubtful, index);
                    bound.index_copy_(0, doubtful, groupBest!);
                    full += m;
                }
            }

            total += best.sum(type: ScalarType.Float64).item<double>();
            if (sums is null || counts is null)
            {
                return;
            }

            if (onCpu)
            {
                Accumulate(rows, own, sums, counts);
            }
            else
            {
                sums.index_add_(0, own, rows, One);
                counts.index_add_(0, own, ones_like(own), One);
            }
        });

        return (total / pass.Rows, (double)full / pass.Rows);
    }

    /// <summary>The memory of a contiguous CPU tensor as a span (no copy).</summary>
    private static Span<T> Raw<T>(Tensor t)
        where T : unmanaged
    {
        if (t.device_type != DeviceType.CPU || !t.is_contiguous())
        {
            throw new ArgumentException("expected a contiguous CPU tensor");
        }

        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(t.bytes);
    }

    /// <summary>
    /// Each row's inner product with its own centroid [n], on the CPU: torch's gather-multiply-sum makes two n x D temporaries
    /// and three passes over them; this is one pass (TensorPrimitives.Dot), rows in parallel.
    /// </summary>
    private static Tensor OwnSimilarity(Tensor rows, Tensor centroids, Tensor own)
    {
        var n = (int)rows.shape[0];
        var d = (int)rows.shape[1];
        var result = empty(n);
        Parallel.For(0, Environment.ProcessorCount, part =>
        {
            var x = Raw<float>(rows);
            var c = Raw<float>(centroids);
            var index = Raw<long>(own);
            var output = Raw<float>(result);
            var (from, to) = Slice(n, part);
            for (var i = from; i < to; i++)
            {
                output[i] = TensorPrimitives.Dot(x.Slice(i * d, d), c.Slice((int)index[i] * d, d));
            }
        });
        return result;
    }

    /// <summary>
    /// Adds each row into its centroid's sum and counts it, on the CPU, in one pass over the rows' memory: each thread owns a share
    /// of the centroids and adds their rows with TensorPrimitives.Add (no index or ones tensors as index_add_ needs).
    /// </summary>
    private static void Accumulate(Tensor rows, Tensor own, Tensor sums, Tensor counts)
    {
        var n = (int)rows.shape[0];
        var d = (int)rows.shape[1];
        var threads = Environment.ProcessorCount;
        Parallel.For(0, threads, part =>
        {
            var x = Raw<float>(rows);
            var index = Raw<long>(own);
            var total = Raw<float>(sums);
            var count = Raw<long>(counts);
            for (var i = 0; i < n; i++)
            {
                var c = (int)index[i];
                if (c % threads != part)
                {
                    continue;
                }

                var target = total.Slice(c * d, d);
                TensorPrimitives.Add(target, x.Slice(i * d, d), target);
                count[c]++;
            }
        });
    }

    private static (int From, int To) Slice(int n, int part)
    {
        var parts = Environment.ProcessorCount;
        return ((int)((long)n * part / parts), (int)((long)n * (part + 1) / parts));
    }

    /// <summary>
    /// Sets each centroid to the normalized sum of its rows (empty clusters split the largest, as faiss does); returns each
    /// centroid's drift, the L2 norm of its move [K].
    /// </summary>
    private static Tensor Update(Tensor centroids, Tensor sums, Tensor counts, int d)
    {
        using var scope = NewDisposeScope();
        var count = counts.cpu().data<long>().ToArray();
        var next = where(counts.gt(Zero).unsqueeze(1), sums, centroids);

        // Empty clusters: split the currently largest cluster in two (faiss' rule), largest first.
        if (count.Contains(0))
        {
            var signs = tensor(Enumerable.Range(0, d).Select(j => j % 2 == 0 ? 1f / 1024 : -1f / 1024).ToArray(), device: centroids.device);
            var up = ones_like(signs).add_(signs, One);
            var down = ones_like(signs).sub_(signs);
            for (var c = 0; c < count.Length; c++)
            {
                if (count[c] > 0)
                {
                    continue;
                }

                var donor = Array.IndexOf(count, count.Max());
                var v = next[donor].clone();
                next[c].copy_(v.mul(up));
                next[donor].copy_(v.mul(down));
                count[c] = count[donor] / 2;
                count[donor] -= count[c];
            }
        }

        var normalized = nn.functional.normalize(next, p: 2, dim: 1);
        var drift = normalized.sub(centroids).norm(1);
        centroids.copy_(normalized);
        return drift.MoveToOuterDisposeScope();
    }

    /// <summary>How a pass walks the rows (held in memory, or streamed) and how the centroids are grouped for the bounds.</summary>
    private sealed class Pass(IRowSource x, Tensor? held, Tensor? held16, int blockRows, (int Groups, int Size) layout, Device device)
    {
        public int Rows => x.Rows;

        public int Groups => layout.Groups;

        /// <summary>Calls <paramref name="body"/> with each block's first row and its rows [n, D]; temporaries die with the block.</summary>
        public void Each(Action<int, Tensor> body)
        {
            if (held is null)
            {
                RowBlocks.Each(x, blockRows, device, body);
                return;
            }

            for (var start = 0; start < x.Rows; start += blockRows)
            {
                using var scope = NewDisposeScope();
                body(start, held.narrow(0, start, Math.Min(blockRows, x.Rows - start)));
            }
        }

        /// <summary>The block's rows in bfloat16: converted once when the rows are held, else now.</summary>
        public Tensor Rows16(int start, Tensor rows) => held16 is not null ? held16.narrow(0, start, rows.shape[0]) : rows.to_type(ScalarType.BFloat16);

        /// <summary>Per row of <paramref name="values"/> [n, K], the maximum over each group of centroids [n, G].</summary>
        public Tensor GroupMax(Tensor values)
        {
            var (g, size) = layout;
            var n = values.shape[0];
            var k = values.shape[1];
            var whole = (g - 1) * (long)size;
            var head = values.narrow(1, 0, whole).reshape(n, g - 1, size).amax([2]);
            var tail = values.narrow(1, whole, k - whole).amax([1], keepdim: true);
            return g == 1 ? tail : cat([head, tail], 1);
        }

        /// <summary>Best similarity, its centroid and (when <paramref name="withBounds"/>) the per-group best of the other centroids.</summary>
        public (Tensor Best, Tensor Index, Tensor? GroupBest) Full(Tensor rows, Tensor centroids, bool withBounds)
        {
            var scores = rows.matmul(centroids.t());
            var (best, index) = scores.max(1);
            if (!withBounds)
            {
                return (best, index, null);
            }

            scores.scatter_(1, index.unsqueeze(1), full(rows.shape[0], 1, NegativeInfinity, device: rows.device));
            return (best, index, GroupMax(scores));
        }
    }
}
