using TorchSharp;

namespace Stella.Coreset;

/// <summary>How the transferability S_i is computed.</summary>
public enum TransferMode
{
    /// <summary>The reference code: cosine of centroids on the second half of each of M layer blocks (the language halves), mean over j with cos &lt;= 0.9.</summary>
    Reference,

    /// <summary>The thesis (Eq. 3.4): cosine of whole centroids, mean over all j != i.</summary>
    Thesis,
}

/// <summary>COINCIDE settings.</summary>
public sealed record CoincideOptions
{
    /// <summary>Share of N kept, in (0, 1]. Default 0.2.</summary>
    public double Ratio { get; init; } = 0.2;

    /// <summary>Temperature of P. Default 0.1.</summary>
    public double Tau { get; init; } = 0.1;

    /// <summary>
    /// Transferability. Default <see cref="TransferMode.Reference"/>: with the authors' feature files it reproduces their released
    /// coresets' cluster ranking; <see cref="TransferMode.Thesis"/> is the formula as printed.
    /// </summary>
    public TransferMode Transfer { get; init; } = TransferMode.Reference;

    /// <summary>Layer blocks in a feature row (each block = [first modality || second modality]); Reference mode uses the second halves. Default 5.</summary>
    public int Layers { get; init; } = 5;

    /// <summary>Cosine above which another centroid counts as a near-duplicate and is left out of S_i (Reference mode). Default 0.9.</summary>
    public double DuplicateCosine { get; init; } = 0.9;

    /// <summary>
    /// Memory for the clusters' inner products kept from the density pass for greedy MMD; clusters beyond it are read again.
    /// Changes no result. Default 1 GiB.
    /// </summary>
    public long GramCacheBytes { get; init; } = 1L << 30;
}

/// <summary>The per-cluster scores and quotas.</summary>
/// <param name="Sizes">n_i.</param>
/// <param name="Transferability">S_i.</param>
/// <param name="Density">D_i.</param>
/// <param name="Probability">P_i.</param>
/// <param name="Order">Clusters in descending P.</param>
/// <param name="Quotas">q_i.</param>
public sealed record ClusterScores(int[] Sizes, double[] Transferability, double[] Density, double[] Probability, int[] Order, int[] Quotas);

/// <summary>
/// COINCIDE (thesis Sec. 3.3, Algorithm 4) on clustered unit features: S_i, D_i, P_i = softmax((S_i / D_i) / tau), quotas drawn
/// in descending P with redistribution, and greedy MMD^2 inside each cluster, computed exactly in O(n) per step.
/// </summary>
public static class Coincide
{
    /// <summary>S_i from unit centroids [K * D].</summary>
    public static double[] Transferability(float[] centroids, int k, int d, CoincideOptions options)
    {
        var (vectors, width) = options.Transfer == TransferMode.Reference ? (SecondHalves(centroids, k, d, options.Layers), d / 2) : (centroids, d);
        var gram = Gram(vectors, k, width);
        var s = new double[k];
        for (var i = 0; i < k; i++)
        {
            double sum = 0;
            var n = 0;
            for (var j = 0; j < k; j++)
            {
                if (j == i)
                {
                    continue;
                }

                var cos = gram[((long)i * k) + j];
                if (options.Transfer == TransferMode.Reference && cos > options.DuplicateCosine)
                {
                    continue;
                }

                sum += cos;
                n++;
            }

            s[i] = n == 0 ? 0 : sum / n;
        }

        return s;
    }

    /// <summary>D_i: mean over all n_i^2 pairs (diagonal included) of exp(-||x - y||^2 / 2) = exp(cos - 1) for unit rows [n * d].</summary>
    public static double Density(float[] rows, int n, int d) => DensityFromGram(Array.ConvertAll(Gram(rows, n, d), g => (float)g), n);

    /// <summary>D_i from the n x n inner products of a cluster's unit rows (<see cref="GramSingle"/>).</summary>
    public static double DensityFromGram(ReadOnlySpan<float> gram, int n)
    {
        double sum = 0;
        foreach (var g in gram)
        {
            sum += Math.Exp((double)g - 1);
        }

        return sum / ((double)n * n);
    }

    /// <summary>P = softmax((S / D) / tau).</summary>
    public static double[] Probability(double[] s, double[] density, double tau)
    {
        var logits = s.Select((v, i) => v / density[i] / tau).ToArray();
        var max = logits.Max();
        var e = logits.Select(l => Math.Exp(l - max)).ToArray();
        var z = e.Sum();
        return e.Select(v => v / z).ToArray();
    }

    /// <summary>
    /// Quotas as the reference draws them: clusters in descending P; q = round(R * P_i / sum of P over the clusters not yet drawn)
    /// (half to even), capped at n_i; R shrinks by what was taken, so a shortfall flows on to the next clusters; what rounding
    /// leaves over at the end goes to the highest-P clusters with rows to spare.
    /// </summary>
    public static (int[] Order, int[] Quotas) Quotas(double[] p, int[] sizes, int budget)
    {
        var order = Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]).ThenBy(i => i).ToArray();
        var quotas = new int[p.Length];
        var remaining = budget;
        var mass = order.Sum(i => p[i]);
        foreach (var i in order)
        {
            var share = mass > 0 ? p[i] / mass : 0;
            var q = (int)Math.Round(remaining * share, MidpointRounding.ToEven);
            q = Math.Clamp(q, 0, Math.Min(sizes[i], remaining));
            quotas[i] = q;
            remaining -= q;
            mass -= p[i];
        }

        // Rounding and caps can leave a few rows of the budget unassigned at the end of the pass (the reference then returns fewer):
        // they go to the highest-P clusters that still have rows, so the coreset has its size unless the clusters run out.
        foreach (var i in order)
        {
            var extra = Math.Min(remaining, sizes[i] - quotas[i]);
            quotas[i] += extra;
            remaining -= extra;
        }

        return (order, quotas);
    }

    /// <summary>
    /// Greedy MMD^2 selection of <paramref name="q"/> of the unit rows [n * d] with the kernel exp(cos - 1), biased estimator,
    /// ties to the lowest index. With m_c = mean_x K(x, c), A = sum over S of m, B = sum over S x S of K, r_c = sum over S of K(a, c):
    /// MMD^2(S + c) = K_XX + (B + 2 r_c + K_cc) / (s + 1)^2 - 2 (A + m_c) / (s + 1), so each step costs O(n) after one n x n kernel.
    /// </summary>
    public static int[] GreedyMmd(float[] rows, int n, int d, int q) => GreedyMmdOf(Gram(rows, n, d), n, q);

    /// <summary>Greedy MMD^2 selection of <paramref name="q"/> rows from the n x n inner products of a cluster's unit rows (<see cref="GramSingle"/>).</summary>
    public static int[] GreedyMmdFromGram(float[] gram, int n, int q) => GreedyMmdOf(Array.ConvertAll(gram, g => (double)g), n, q);

    private static int[] GreedyMmdOf(double[] kernel, int n, int q)
    {
        for (var i = 0; i < kernel.Length; i++)
        {
            kernel[i] = Math.Exp(kernel[i] - 1);
        }

        var m = new double[n];
        for (var c = 0; c < n; c++)
        {
            double sum = 0;
            for (var x = 0; x < n; x++)
            {
                sum += kernel[(x * n) + c];
            }

            m[c] = sum / n;
        }

        var r = new double[n];
        var taken = new bool[n];
        var selected = new List<int>(q);
        double a2 = 0, b2 = 0;
        for (var step = 0; step < Math.Min(q, n); step++)
        {
            var s = selected.Count;
            var best = -1;
            var bestValue = double.PositiveInfinity;
            for (var c = 0; c < n; c++)
            {
                if (taken[c])
                {
                    continue;
                }

                var value = ((b2 + (2 * r[c]) + kernel[(c * n) + c]) / ((s + 1.0) * (s + 1.0))) - (2 * (a2 + m[c]) / (s + 1.0));
                if (value < bestValue)
                {
                    bestValue = value;
                    best = c;
                }
            }

            taken[best] = true;
            selected.Add(best);
            a2 += m[best];
            b2 += (2 * r[best]) + kernel[(best * n) + best];
            for (var c = 0; c < n; c++)
            {
                r[c] += kernel[(best * n) + c];
            }
        }

        return selected.ToArray();
    }

    /// <summary>MMD^2 between the rows and the subset, from its definition (tests compare the greedy search with it).</summary>
    public static double Mmd2(float[] rows, int n, int d, IReadOnlyList<int> subset)
    {
        double xx = 0, ss = 0, xs = 0;
        for (var a = 0; a < n; a++)
        {
            for (var b = 0; b < n; b++)
            {
                xx += Math.Exp(Dot(rows, a, b, d) - 1);
            }

            foreach (var c in subset)
            {
                xs += Math.Exp(Dot(rows, a, c, d) - 1);
            }
        }

        foreach (var a in subset)
        {
            foreach (var b in subset)
            {
                ss += Math.Exp(Dot(rows, a, b, d) - 1);
            }
        }

        return (xx / ((double)n * n)) + (ss / ((double)subset.Count * subset.Count)) - (2 * xs / ((double)n * subset.Count));
    }

    /// <summary>The n x n inner products of the first n rows of <paramref name="rows"/> [n * d] (one GEMM, float32 accumulate, as faiss computes them).</summary>
    public static double[] Gram(float[] rows, int n, int d)
    {
        using var x = torch.tensor(rows.Length == n * d ? rows : rows.AsSpan(0, n * d).ToArray(), [n, d]);
        return Gram(x);
    }

    /// <summary>The inner products of the rows of <paramref name="x"/> [n, d].</summary>
    public static double[] Gram(torch.Tensor x) => Array.ConvertAll(GramSingle(x), g => (double)g);

    /// <summary>The inner products of the rows of <paramref name="x"/> [n, d] as the float32 GEMM gives them (n x n, row-major).</summary>
    public static float[] GramSingle(torch.Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        return x.matmul(x.t()).data<float>().ToArray();
    }

    internal static double Dot(float[] v, int a, int b, int d)
    {
        double sum = 0;
        var ra = a * d;
        var rb = b * d;
        for (var j = 0; j < d; j++)
        {
            sum += v[ra + j] * (double)v[rb + j];
        }

        return sum;
    }

    /// <summary>The second half of each of <paramref name="layers"/> blocks of every row, renormalized.</summary>
    private static float[] SecondHalves(float[] rows, int k, int d, int layers)
    {
        if (layers < 1 || d % (2 * layers) != 0)
        {
            throw new ArgumentException($"transferability 'reference' needs D divisible into {layers} layer blocks of two halves (D = {d}); set --layers or use --transfer thesis");
        }

        var block = d / layers;
        var half = block / 2;
        var result = new float[k * (d / 2)];
        for (var i = 0; i < k; i++)
        {
            double norm = 0;
            for (var l = 0; l < layers; l++)
            {
                for (var j = 0; j < half; j++)
                {
                    var v = rows[(i * d) + (l * block) + half + j];
                    result[(i * (d / 2)) + (l * half) + j] = v;
                    norm += v * (double)v;
                }
            }

            var scale = norm > 0 ? (float)(1 / Math.Sqrt(norm)) : 0f;
            for (var j = 0; j < d / 2; j++)
            {
                result[(i * (d / 2)) + j] *= scale;
            }
        }

        return result;
    }
}
