using Stella.Coreset;
using static TorchSharp.torch;

namespace Stella.Coreset.Tests;

/// <summary>bfloat16 screening (see <see cref="SphericalKMeans"/>'s remarks) must give exactly the float32 comparison's k-means.</summary>
public sealed class KMeansScreeningTests
{
    static KMeansScreeningTests() => Stella.Model.Runtime.TorchRuntime.Initialize();

    private static float[] UnitRows(int n, int d, int clusters, int seed, double noise)
    {
        var rng = new Random(seed);
        var centres = Enumerable.Range(0, clusters).Select(_ => Enumerable.Range(0, d).Select(_ => rng.NextDouble() - 0.5).ToArray()).ToArray();
        var rows = new float[n * d];
        for (var i = 0; i < n; i++)
        {
            var c = centres[rng.Next(clusters)];
            var v = c.Select(t => t + (noise * (rng.NextDouble() - 0.5))).ToArray();
            var norm = Math.Sqrt(v.Sum(t => t * t));
            for (var j = 0; j < d; j++)
            {
                rows[(i * d) + j] = (float)(v[j] / norm);
            }
        }

        return rows;
    }

    [Theory]
    [InlineData(64)]
    [InlineData(256)]
    [InlineData(2048)]
    public void ScreenedScores_StayWithinTheBound(int d)
    {
        // The bound assumes float32 accumulation in torch's bfloat16 GEMM; were it to accumulate in bfloat16, this fails.
        using var scope = NewDisposeScope();
        var x = tensor(UnitRows(500, d, 5, 1, 0.3), [500, d]);
        var c = tensor(UnitRows(300, d, 5, 2, 0.3), [300, d]);
        var exact = x.mm(c.t());
        var screened = x.to(ScalarType.BFloat16).mm(c.t().contiguous().to(ScalarType.BFloat16)).to(ScalarType.Float32);
        var error = screened.sub(exact).abs().max().item<float>();
        Assert.True(error <= SphericalKMeans.ScreenError(d), $"largest error {error} over the bound {SphericalKMeans.ScreenError(d)} at width {d}");
        // Not vacuous: the rows are close to each other, so screened scores do differ from exact ones.
        Assert.True(error > 0, "bfloat16 gave exact scores");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Screening_GivesTheFloat32Assignments_WithNearTies(bool prune)
    {
        // 150 centroids on 12 tight planted clusters at width 160: centroids share clusters, so many rows have near ties (the
        // float32 path) and many do not (the screened path); blocks of 512 rows mix both.
        var rows = UnitRows(6000, 160, 12, 5, 0.4);
        var x = new DenseRows(rows, 6000, 160);
        var lines = new List<string>();
        var screened = new SphericalKMeans(150, iterations: 12, seed: 3, blockRows: 512, progress: lines.Add, prune: prune, screen: true).Fit(x);
        var plain = new SphericalKMeans(150, iterations: 12, seed: 3, blockRows: 512, prune: false, screen: false).Fit(x);
        Assert.Equal(plain.Assignments, screened.Assignments);
        Assert.All(plain.Objective.Zip(screened.Objective), p => Assert.Equal(p.First, p.Second, 1e-6));
        Assert.All(plain.Centroids.Zip(screened.Centroids), p => Assert.Equal(p.First, p.Second, 1e-5));
        var ties = lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"bfloat16 screening \((\d+) % near ties\)")).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.NotEmpty(ties);
        Assert.Contains(ties, t => t is > 0 and < 100);
    }
}
