namespace Stella.Coreset;

/// <summary>
/// The baselines on the same clusters and features: random, nearest-to-centroid, Self-Sup prototypicality, SemDeDup. Each returns
/// the selected rows in the order they were chosen.
/// </summary>
public static class Baselines
{
    /// <summary>A seeded uniform sample of <paramref name="budget"/> rows.</summary>
    public static int[] Random(int n, int budget, int seed)
    {
        var all = Enumerable.Range(0, n).ToArray();
        new System.Random(seed).Shuffle(all);
        return all[..budget];
    }

    /// <summary>Per cluster, a quota proportional to its size (drawn as COINCIDE draws quotas, P = n_i / N), filled with the rows closest to the centroid.</summary>
    public static int[] Nearest(int[] sizes, IReadOnlyList<int[]> members, double[] cosineToCentroid, int budget)
    {
        var total = (double)sizes.Sum();
        var (order, quotas) = Coincide.Quotas(sizes.Select(s => s / total).ToArray(), sizes, budget);
        return order.SelectMany(c => members[c].OrderByDescending(i => cosineToCentroid[i]).ThenBy(i => i).Take(quotas[c])).ToArray();
    }

    /// <summary>
    /// Self-Sup prototypicality (Sorscher et al. 2022): the score of a row is its distance to its cluster's centroid; with a large
    /// dataset the hardest (least prototypical) rows are kept.
    /// </summary>
    public static int[] SelfSup(double[] cosineToCentroid, int budget) =>
        Enumerable.Range(0, cosineToCentroid.Length).OrderBy(i => cosineToCentroid[i]).ThenBy(i => i).Take(budget).ToArray();

    /// <summary>
    /// SemDeDup (Abbas et al. 2023) within each cluster: rows are visited farthest from the centroid first, and a row's duplicate
    /// score is its highest cosine to any row visited before it in its cluster; the <paramref name="budget"/> rows with the lowest
    /// scores are kept. This is the threshold rule of SemDeDup with the threshold chosen to meet the budget exactly.
    /// </summary>
    public static int[] SemDeDup(IRowSource x, IReadOnlyList<int[]> members, double[] cosineToCentroid, int budget)
    {
        var score = new double[x.Rows];
        foreach (var cluster in members.Where(m => m.Length > 0))
        {
            var ordered = cluster.OrderBy(i => cosineToCentroid[i]).ThenBy(i => i).ToArray();
            var rows = new float[ordered.Length * x.Dims];
            x.ReadRows(ordered, rows);
            var gram = Coincide.Gram(rows, ordered.Length, x.Dims);
            for (var a = 0; a < ordered.Length; a++)
            {
                var max = -1.0;
                for (var b = 0; b < a; b++)
                {
                    max = Math.Max(max, gram[((long)a * ordered.Length) + b]);
                }

                score[ordered[a]] = max;
            }
        }

        return Enumerable.Range(0, x.Rows).OrderBy(i => score[i]).ThenBy(i => i).Take(budget).ToArray();
    }
}
