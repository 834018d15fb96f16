using System.Globalization;
using Stella.Core.Arrays;
using Stella.Model.Runtime;
using TorchSharp;

namespace Stella.Bench;

/// <summary>
/// Seeded feature files with planted structure, for the coreset benchmarks: <c>planted</c> cluster directions in groups of 20
/// around a shared mean (all unit), cluster sizes skewed (weights exp(N(0, 1))), and noise such that a row's cosine to its
/// direction is about 0.6. Written a block of rows at a time (nothing holds the file in memory), float16 or float32; the planted
/// cluster of each row goes to PATH.clusters.txt.
/// </summary>
internal static class PlantedFeatures
{
    /// <summary>Writes <paramref name="path"/> [n, d] unless it is there with the expected size; returns the path.</summary>
    public static string Ensure(string path, int n, int d, int planted, bool half)
    {
        if (!File.Exists(path) || new FileInfo(path).Length < (long)n * d * (half ? 2 : 4))
        {
            Write(path, n, d, planted, half);
        }

        return path;
    }

    /// <summary>Writes the file (see the class summary).</summary>
    public static void Write(string path, int n, int d, int planted, bool half)
    {
        TorchRuntime.Initialize();
        float[] centres;
        using (var scope = torch.NewDisposeScope())
        {
            using var generator = new torch.Generator(7);
            using var meanWeight = 0.5.ToScalar();
            using var weight = 0.6.ToScalar();
            var mean = torch.nn.functional.normalize(torch.randn(1, d, generator: generator), p: 2, dim: 1);
            var groups = torch.nn.functional.normalize(torch.randn((planted + 19) / 20, d, generator: generator), p: 2, dim: 1);
            var own = torch.nn.functional.normalize(torch.randn(planted, d, generator: generator), p: 2, dim: 1);
            var mixed = groups.repeat_interleave(20, 0).narrow(0, 0, planted).mul(weight).add_(own.mul(weight), Scalars.One).add_(mean.mul(meanWeight), Scalars.One);
            centres = torch.nn.functional.normalize(mixed, p: 2, dim: 1).data<float>().ToArray();
        }

        var rng = new Random(7);
        var cumulative = new double[planted];
        double acc = 0;
        for (var i = 0; i < planted; i++)
        {
            acc += Math.Exp(Normal(rng));
            cumulative[i] = acc;
        }

        var clusterOf = new int[n];
        for (var i = 0; i < n; i++)
        {
            var b = Array.BinarySearch(cumulative, rng.NextDouble() * acc);
            clusterOf[i] = Math.Min(planted - 1, b < 0 ? ~b : b);
        }

        // Noise per dimension so that a row's cosine to its direction is about 0.6: 1 / sqrt(1 + D s^2) = 0.6; uniform on
        // [-a, a] has s = a / sqrt(3). A per-row xorshift generator, rows in parallel: torch's seeded normal sampler is serial and
        // wrote 33 MB/s.
        var amplitude = (float)(Math.Sqrt(((1 / 0.36) - 1) / d) * Math.Sqrt(3));
        var tmp = path + ".tmp";
        using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 22))
        {
            Npy.WriteHeader(stream, half ? "<f2" : "<f4", n, d);
            var block = Math.Max(1, (1 << 22) / d);
            var values = new float[block * d];
            var halves = half ? new Half[block * d] : null;
            for (var start = 0; start < n; start += block)
            {
                var rows = Math.Min(block, n - start);
                var first = start;
                Parallel.For(0, rows, r =>
                {
                    var row = first + r;
                    var state = (0x9E3779B97F4A7C15UL * (ulong)(row + 1)) ^ 0xD1B54A32D192ED03UL;
                    var c = clusterOf[row] * d;
                    for (var j = 0; j < d; j++)
                    {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        var u = ((state >> 40) * (1f / (1 << 24))) - 0.5f;
                        var v = centres[c + j] + (2 * amplitude * u);
                        if (halves is null)
                        {
                            values[(r * d) + j] = v;
                        }
                        else
                        {
                            halves[(r * d) + j] = (Half)v;
                        }
                    }
                });
                stream.Write(halves is null
                    ? System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan(0, rows * d))
                    : System.Runtime.InteropServices.MemoryMarshal.AsBytes(halves.AsSpan(0, rows * d)));
            }
        }

        File.Move(tmp, path, overwrite: true);
        File.WriteAllLines(path + ".clusters.txt", clusterOf.Select(c => c.ToString(CultureInfo.InvariantCulture)));
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
