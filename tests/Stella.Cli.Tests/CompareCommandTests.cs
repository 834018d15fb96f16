using Stella.Pipeline;
using static Stella.Cli.Tests.CliRunner;

namespace Stella.Cli.Tests;

public sealed class CompareCommandTests
{
    private static Dictionary<string, RecallScores> Scores(double a, double f) =>
        new[] { "R@1", "R@5", "R@10", "avg" }.ToDictionary(k => k, _ => new RecallScores { A = a, F = f });

    /// <summary>A finished run (no ranks: a results.json of an older version) where compare keeps it.</summary>
    private static void FinishedRun(string outDir, string method, int seed, double a)
    {
        var dir = Path.Combine(outDir, "runs", $"{method}-s{seed}");
        Directory.CreateDirectory(dir);
        new RunResults
        {
            Method = method, Seed = seed, Model = "tiny", Tasks = ["a", "b"], EvaluatedAfter = ["a", "b"], A2V = Scores(a, 5), V2A = Scores(a, 5),
            ModalityGap = [[0.5, 0.4], [0.4, 0.3]], ModalityGapSeen = [0.5, 0.35], ModalityGapFinal = [0.4, 0.3], Localization = [[null, null], [null, null]],
            Efficiency = new RunEfficiency(), Quarantined = 0, ConfigHash = "0123456789abcdef",
        }.Write(Path.Combine(dir, "results.json"));
    }

    [Fact]
    public void Compare_Reference_PairsEveryOtherMethodAgainstIt()
    {
        var dir = TempDir();
        var config = Path.Combine(dir, "job.yaml");
        File.WriteAllText(config, "name: t\nmanifest: missing/manifest.csv\n");
        // er is 10.0, 10.5 and 9.5 points above stella: a t interval of 10 +- 4.303 * 0.5 / sqrt(3) over seeds.
        foreach (var (seed, stella, er) in new[] { (0, 30.0, 40.0), (1, 35.0, 45.5), (2, 32.0, 41.5) })
        {
            FinishedRun(dir, "stella", seed, stella);
            FinishedRun(dir, "er", seed, er);
        }

        var (code, output, error) = CliRunner.Stella("compare", "--config", config, "--methods", "stella,er", "--seeds", "0,1,2", "--reference", "stella", "--out", dir);
        Assert.True(code == 0, error + output);
        var md = File.ReadAllText(Path.Combine(dir, "compare.md"));
        Assert.Contains("## Paired against stella", md);
        Assert.Contains("| er | avg A | +10.00 | [+8.76, +11.24] | n/a | 3/3 | **better** |", md);
        Assert.Contains("| er | avg F | 0.00 | [0.00, 0.00] | n/a | 0/3 | not separable |", md);

        // The default reference, der++, is not among these methods: the section says so.
        (code, output, error) = CliRunner.Stella("compare", "--config", config, "--methods", "stella,er", "--seeds", "0,1,2", "--out", dir);
        Assert.True(code == 0, error + output);
        Assert.Contains("Skipped: the reference 'der++' is not among the methods compared (stella, er); choose one with --reference.", File.ReadAllText(Path.Combine(dir, "compare.md")));
    }
}
