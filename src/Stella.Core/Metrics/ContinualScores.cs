namespace Stella.Core.Metrics;

/// <summary>
/// Average accuracy A and forgetting F of an accuracy matrix acc[t][i] (score on task i after training through task t), thesis
/// Sec. 2.5.1: A = mean over tasks of the final row; F = mean over the tasks before the last of the largest drop from any point
/// after the task was learned (t = i .. T-2) to the end. Checkpoints before a task was learned do not count (the official code's
/// variant, which counts them, is a quirk not replicated).
/// </summary>
public static class ContinualScores
{
    /// <summary>A: the mean of the last row.</summary>
    public static double Average(double[][] acc)
    {
        Check(acc);
        return acc[^1].Average();
    }

    /// <summary>F: (1 / (T - 1)) * sum over i &lt; T-1 of max over t in [i, T-2] of (acc[t][i] - acc[T-1][i]); 0 for one task.</summary>
    public static double Forgetting(double[][] acc)
    {
        Check(acc);
        var tasks = acc.Length;
        if (tasks < 2)
        {
            return 0;
        }

        double sum = 0;
        for (var i = 0; i < tasks - 1; i++)
        {
            var best = double.NegativeInfinity;
            for (var t = i; t < tasks - 1; t++)
            {
                best = Math.Max(best, acc[t][i] - acc[tasks - 1][i]);
            }

            sum += best;
        }

        return sum / (tasks - 1);
    }

    private static void Check(double[][] acc)
    {
        if (acc.Length == 0 || acc.Any(row => row.Length != acc.Length))
        {
            throw new ArgumentException("the accuracy matrix must be square: one row per task trained, one column per task");
        }
    }
}
