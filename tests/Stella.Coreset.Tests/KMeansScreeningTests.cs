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
        // Other rows, and 100 of x's own rows: scores near 1, where rounding the result to bfloat16 costs the most.
        var c = cat([tensor(UnitRows(300, d, 5, 2, 0.3), [300, d]), x.narrow(0, 0, 100)], 0);
        var exact = x.mm(c.t());
        var screened = x.to(ScalarType.BFloat16).mm(c.t().contiguous().to(ScalarType.BFloat16)).to(ScalarType.Float32);
        var error = screened.sub(exact).abs().max().item<float>();
        Assert.True(error <= SphericalKMeans.ScreenError(d), $"largest error {error} over the bound {SphericalKMeans.ScreenError(d)} at width {d}");
        // Not vacuous: the largest error reaches a quarter of bfloat16's roundoff, i.e. the data exercises the rounding the bound covers.
        Assert.True(error >= 1.0 / 256 / 4, $"largest error {error}: the test's scores hardly round");
    }

    [Theory]
    [InlineData(true, 160, 12, 0.4, 150)]
    [InlineData(false, 160, 12, 0.4, 150)]
    [InlineData(true, 32, 25, 0.05, 203)] // ties to within float32 rounding: without the GEMM settling them, assignments differ
    public void Screening_GivesTheFloat32Assignments_WithNearTies(bool prune, int d, int planted, double noise, int k)
    {
        // Many more centroids than tight planted clusters: centroids share clusters, so many rows have near ties (compared again)
        // and many do not (the screened path); blocks of 512 rows mix both.
        var rows = UnitRows(6000, d, planted, 5, noise);
        var x = new DenseRows(rows, 6000, d);
        var lines = new List<string>();
        var screened = new SphericalKMeans(k, iterations: 12, seed: 3, blockRows: 512, progress: lines.Add, prune: prune, screen: true, pruneFromWidth: 0).Fit(x);
        var plain = new SphericalKMeans(k, iterations: 12, seed: 3, blockRows: 512, prune: false, screen: false).Fit(x);
        Assert.Equal(plain.Assignments, screened.Assignments);
        Assert.All(plain.Objective.Zip(screened.Objective), p => Assert.Equal(p.First, p.Second, 1e-6));
        Assert.All(plain.Centroids.Zip(screened.Centroids), p => Assert.Equal(p.First, p.Second, 1e-5));
        var ties = lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"bfloat16 screening \((\d+) % near ties\)")).Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.NotEmpty(ties);
        Assert.Contains(ties, t => t > 0);
        if (d >= 128)
        {
            // Wide rows: some rows are settled by the screen alone (at width 32 these clusters leave every row a near tie).
            Assert.Contains(ties, t => t < 100);
        }
    }

    [Fact]
    public void Screening_GivesTheFloat32Assignments_WithExactTies()
    {
        // Every point five times: random seeding picks duplicates as initial centroids, so rows meet exact ties (equal centroids),
        // which only the float32 GEMM may settle (the assignment must be the plain run's, whichever of the equal ones it picks).
        var distinct = UnitRows(400, 192, 8, 11, 0.4);
        var rows = new float[2000 * 192];
        for (var i = 0; i < 2000; i++)
        {
            distinct.AsSpan((i % 400) * 192, 192).CopyTo(rows.AsSpan(i * 192, 192));
        }

        var x = new DenseRows(rows, 2000, 192);
        var screened = new SphericalKMeans(120, iterations: 8, seed: 7, blockRows: 256, screen: true).Fit(x);
        var plain = new SphericalKMeans(120, iterations: 8, seed: 7, blockRows: 256, prune: false, screen: false).Fit(x);
        Assert.Equal(plain.Assignments, screened.Assignments);
        Assert.All(plain.Centroids.Zip(screened.Centroids), p => Assert.Equal(p.First, p.Second, 1e-5));
    }
}
