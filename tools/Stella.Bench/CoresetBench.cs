using System.Diagnostics;
using System.Globalization;
using Stella.Core.Arrays;
using Stella.Coreset;
using TorchSharp;

namespace Stella.Bench;

/// <summary>
/// Coreset benchmark (a): spherical k-means and COINCIDE on N = 100,000 x D = 1,024 float32 features with planted structure
/// (2,000 directions + noise), K = 1,000, 20 iterations. Prints time, peak RSS and the objective per iteration, and writes the
/// file so tools/bench/faiss_kmeans.py can run faiss on the same data at equal iterations. Asserts nothing.
/// </summary>
internal static class CoresetBench
{
    public static void Run(int n = 100_000, int d = 1_024, int k = 1_000, int iterations = 20)
    {
        var path = Path.Combine(Path.GetTempPath(), $"stella-coreset-bench-{n}x{d}.npy");
        if (!File.Exists(path))
        {
            var rng = new Random(42);
            var centres = new float[2_000 * d];
            for (var i = 0; i < centres.Length; i++)
            {
                centres[i] = (float)(rng.NextDouble() - 0.5);
            }

            var data = new float[(long)n * d];
            for (var i = 0; i < n; i++)
            {
                var c = rng.Next(2_000);
                for (var j = 0; j < d; j++)
                {
                    data[((long)i * d) + j] = centres[(c * d) + j] + (0.15f * (float)(rng.NextDouble() - 0.5));
                }
            }

            Npy.Write(path, data, n, d);
        }

        Stella.Model.Runtime.TorchRuntime.PreferShortThreadSpins();
        Stella.Model.Runtime.TorchRuntime.Initialize();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"coreset (a): N = {n}, D = {d}, K = {k}, {iterations} iterations, {Environment.ProcessorCount} cores; data {path}"));
        using var x = FeatureMatrix.Open(path);
        var watch = Stopwatch.StartNew();
        var km = new SphericalKMeans(k, iterations, 1234).Fit(x);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  k-means {km.Seconds:0.0} s ({km.Seconds / (iterations + 1):0.00} s per assignment pass), objective (mean cosine) first {km.Objective[0]:0.00000} last {km.Objective[^1]:0.00000}, peak RSS {Stella.Core.Diagnostics.ProcessMemory.PeakRssMb():0} MB"));
        var outDir = Path.Combine(Path.GetTempPath(), "stella-coreset-bench-out");
        watch.Restart();
        CoresetJob.Run(new CoresetSettings { Features = path, Out = outDir, Clusters = k, Iterations = iterations, Coincide = new CoincideOptions { Ratio = 0.2, Transfer = TransferMode.Thesis } }, _ => { });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  COINCIDE end to end (k-means again + S, D, P, greedy MMD, files) {watch.Elapsed.TotalSeconds:0.0} s, peak RSS {Stella.Core.Diagnostics.ProcessMemory.PeakRssMb():0} MB; phases in {outDir}/summary.json"));
        Console.WriteLine($"  compare: python3 tools/bench/faiss_kmeans.py {path} {k} {iterations}");
    }
}
