using Stella.Coreset;

namespace Stella.Coreset.Tests;

public sealed class KMeansGcPressureTests
{
    static KMeansGcPressureTests() => Stella.Model.Runtime.TorchRuntime.Initialize();

    /// <summary>Seeded unit rows around <paramref name="planted"/> directions, held in memory.</summary>
    private static DenseRows Rows(int n, int d, int planted, int seed)
    {
        var rng = new Random(seed);
        var centres = Enumerable.Range(0, planted * d).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var data = new float[n * d];
        for (var i = 0; i < n; i++)
        {
            var c = rng.Next(planted);
            double norm = 0;
            for (var j = 0; j < d; j++)
            {
                var v = centres[(c * d) + j] + (0.3f * ((float)rng.NextDouble() - 0.5f));
                data[(i * d) + j] = v;
                norm += v * (double)v;
            }

            for (var j = 0; j < d; j++)
            {
                data[(i * d) + j] /= (float)Math.Sqrt(norm);
            }
        }

        return new DenseRows(data, n, d);
    }

    /// <summary>
    /// A tensor left to the finalizer can be freed while a native call still reads it (the SIGSEGV of `stella coreset` in about half
    /// of its runs: THSTensor_copy_ on a freed temporary). Here a second thread collects and finalizes without pause while k-means
    /// runs; the loop must finish (a use-after-free crashes the test host) and give exactly the result of a run without that
    /// pressure.
    /// </summary>
    [Fact]
    public void KMeans_UnderConstantCollection_DoesNotCrash_AndGivesTheSameResult()
    {
        var x = Rows(6000, 256, 40, 17);
        var calm = new SphericalKMeans(400, iterations: 25, seed: 5).Fit(x);
        var (results, collections) = Stella.Tests.Shared.ConstantCollection.While(() => new List<KMeansResult>
        {
            new SphericalKMeans(400, iterations: 25, seed: 5).Fit(x),
            new SphericalKMeans(400, iterations: 25, seed: 5, prune: false).Fit(x),
        });

        Assert.True(collections >= 10, $"only {collections} collections ran alongside k-means");
        foreach (var result in results)
        {
            Assert.Equal(calm.Assignments, result.Assignments);
            Assert.All(calm.Objective.Zip(result.Objective), p => Assert.Equal(p.First, p.Second, 1e-6));
            Assert.All(calm.Centroids.Zip(result.Centroids), p => Assert.Equal(p.First, p.Second, 1e-5));
        }
    }
}
