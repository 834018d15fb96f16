namespace Stella.Core.Metrics;

/// <summary>
/// Zero-shot retrieval on L2-normalized embeddings with cosine similarity. The rank of a query is 1 + the number of gallery items
/// scored strictly higher than its true pair + the number of other items scored equally (ties count against the query, so a model
/// that maps everything to one point scores at chance, not perfectly).
/// </summary>
public static class Retrieval
{
    /// <summary>
    /// Ranks (1-based) of the true pairs: query i's true item is gallery row i. <paramref name="queries"/> [Q, D] are the rows to
    /// score (indices into the gallery, e.g. one task's clips), <paramref name="query"/> and <paramref name="gallery"/> are [N, D].
    /// </summary>
    public static int[] Ranks(float[][] query, float[][] gallery, IReadOnlyList<int> queries)
    {
        var q = query.Select(Normalize).ToArray();
        var g = gallery.Select(Normalize).ToArray();
        var ranks = new int[queries.Count];
        for (var n = 0; n < queries.Count; n++)
        {
            var i = queries[n];
            var truth = Dot(q[i], g[i]);
            var rank = 1;
            for (var j = 0; j < g.Length; j++)
            {
                if (j == i)
                {
                    continue;
                }

                var s = Dot(q[i], g[j]);
                if (s >= truth)
                {
                    rank++;
                }
            }

            ranks[n] = rank;
        }

        return ranks;
    }

    /// <summary>Recall at k in percent: share of ranks at most <paramref name="k"/>.</summary>
    public static double RecallAt(IReadOnlyList<int> ranks, int k) => ranks.Count == 0 ? 0 : 100.0 * ranks.Count(r => r <= k) / ranks.Count;

    /// <summary>The L2-normalized copy of <paramref name="v"/> (zero stays zero).</summary>
    public static float[] Normalize(float[] v)
    {
        var norm = Math.Sqrt(v.Sum(x => (double)x * x));
        return norm == 0 ? (float[])v.Clone() : v.Select(x => (float)(x / norm)).ToArray();
    }

    private static double Dot(float[] a, float[] b)
    {
        double s = 0;
        for (var i = 0; i < a.Length; i++)
        {
            s += (double)a[i] * b[i];
        }

        return s;
    }
}
