namespace Stella.Pipeline.Compare;

/// <summary>Which rows of a column hold the best and the second-best value.</summary>
public static class Ranking
{
    /// <summary>
    /// Indexes of the best and second-best finite values (-1 when there is none); ties go to the earlier row, a value equal to the
    /// best is not marked second, and a column whose values are all equal is not marked.
    /// </summary>
    public static (int Best, int Second) BestTwo(IReadOnlyList<double> values, bool higherIsBetter)
    {
        var order = Enumerable.Range(0, values.Count).Where(i => double.IsFinite(values[i]))
            .OrderBy(i => higherIsBetter ? -values[i] : values[i]).ThenBy(i => i).ToList();
        if (order.Count == 0 || order.All(i => values[i] == values[order[0]]))
        {
            // Nothing to tell apart (one row, or every row equal): mark nothing.
            return (-1, -1);
        }

        var best = order[0];
        var second = order.Skip(1).FirstOrDefault(i => values[i] != values[best], -1);
        return (best, order.Count > 1 ? second : -1);
    }
}
