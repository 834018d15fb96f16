using System.Diagnostics;
using System.Globalization;
using Stella.Core.Arrays;
using Stella.Coreset;
using TorchSharp;

namespace Stella.Bench;

/// <summary>
/// Coreset benchmark (b), the LLaVA-1.5 scale: N = 665,298 x D = 20,480 float16 (27 GB; generated once, with planted structure:
/// 10,000 cluster directions in 500 groups around a shared mean, cluster sizes skewed, noise at cosine about 0.6 to the cluster
/// direction), then <c>stella coreset</c> end to end with K = 10,000, ratio 0.2 and a random projection to 256 dimensions for the
/// clustering (exact assignment would cost 2.7e14 flops a pass). Prints the time and peak RSS of every phase and the full-space
/// objective; asserts nothing.
/// </summary>
internal static class LlavaScaleBench
{
    public const int N = 665_298;
    public const int D = 20_480;
    public const int Planted = 10_000;

    public static void Run(string? folder = null, int k = 10_000, int project = 256, int iterations = 20)
    {
        folder ??= Path.GetTempPath();
        var path = Path.Combine(folder, $"stella-coreset-llava-{N}x{D}-f16.npy");
        var bytes = (long)N * D * 2;
        Stella.Model.Runtime.TorchRuntime.Initialize();
        if (!File.Exists(path) || new FileInfo(path).Length < bytes)
        {
            var free = new DriveInfo(Path.GetFullPath(folder)).AvailableFreeSpace;
            if (free < bytes + (2L << 30))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"coreset (b): skipped: the generated file needs {bytes / 1e9:0.0} GB and {folder} has {free / 1e9:0.0} GB free"));
                return;
            }

            var watch = Stopwatch.StartNew();
            Generate(path);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"coreset (b): generated {path} ({bytes / 1e9:0.0} GB) in {watch.Elapsed.TotalSeconds:0} s"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"coreset (b): N = {N}, D = {D} float16, K = {k}, ratio 0.2, --project {project}, {iterations} iterations, {Environment.ProcessorCount} cores"));
        var outDir = Path.Combine(folder, "stella-coreset-llava-out");
        var total = Stopwatch.StartNew();
        CoresetJob.Run(
            new CoresetSettings { Features = path, Out = outDir, Clusters = k, Iterations = iterations, Project = project, Labels = File.Exists(path + ".clusters.txt") ? path + ".clusters.txt" : null, Coincide = new CoincideOptions { Ratio = 0.2 } },
            line => Console.WriteLine($"  [{DateTime.Now:HH:mm:ss}] {line}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  end to end {total.Elapsed.TotalMinutes:0.0} min, peak RSS {Stella.Core.Diagnostics.ProcessMemory.PeakRssMb():0} MB"));
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        foreach (var phase in summary.RootElement.GetProperty("phases").EnumerateArray())
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {phase.GetProperty("name").GetString(),-22} {phase.GetProperty("seconds").GetDouble(),8:0.0} s   peak RSS so far {phase.GetProperty("peak_rss_mb").GetDouble(),7:0} MB"));
        }

        Console.WriteLine($"  projection effect: {summary.RootElement.GetProperty("projection")}");
        if (summary.RootElement.TryGetProperty("label_coverage", out var coverage) && coverage.ValueKind == System.Text.Json.JsonValueKind.Object)
        {
            Console.WriteLine($"  planted clusters covered: {coverage}");
        }
    }

    /// <summary>
    /// Writes the planted file a block of rows at a time (nothing holds it in memory), float16, seeded. The noise is uniform with the
    /// planned variance from a per-row xorshift generator, rows in parallel: torch's seeded normal sampler is serial and wrote 33 MB/s.
    /// </summary>
    private static void Generate(string path)
    {
        float[] centres;
        using (var scope = torch.NewDisposeScope())
        {
            using var generator = new torch.Generator(7);
            // 500 groups around a shared mean; 20 cluster directions per group; all unit.
            var mean = torch.nn.functional.normalize(torch.randn(1, D, generator: generator), p: 2, dim: 1);
            var groups = torch.nn.functional.normalize(torch.randn(Planted / 20, D, generator: generator), p: 2, dim: 1);
            var own = torch.nn.functional.normalize(torch.randn(Planted, D, generator: generator), p: 2, dim: 1);
            centres = torch.nn.functional.normalize((0.5 * mean) + (0.6 * groups.repeat_interleave(20, 0)) + (0.6 * own), p: 2, dim: 1).data<float>().ToArray();
        }

        // Skewed cluster sizes: weights exp(N(0, 1)), each row's cluster drawn from them.
        var rng = new Random(7);
        var cumulative = new double[Planted];
        double acc = 0;
        for (var i = 0; i < Planted; i++)
        {
            acc += Math.Exp(Normal(rng));
            cumulative[i] = acc;
        }

        var clusterOf = new int[N];
        for (var i = 0; i < N; i++)
        {
            var b = Array.BinarySearch(cumulative, rng.NextDouble() * acc);
            clusterOf[i] = Math.Min(Planted - 1, b < 0 ? ~b : b);
        }

        // Noise per dimension so that a row's cosine to its direction is about 0.6: 1 / sqrt(1 + D s^2) = 0.6; uniform on
        // [-a, a] has s = a / sqrt(3).
        var amplitude = (float)(Math.Sqrt(((1 / 0.36) - 1) / D) * Math.Sqrt(3));
        var tmp = path + ".tmp";
        using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 22))
        {
            Npy.WriteHeader(stream, "<f2", N, D);
            const int Block = 2048;
            var halves = new Half[Block * D];
            for (var start = 0; start < N; start += Block)
            {
                var n = Math.Min(Block, N - start);
                var first = start;
                Parallel.For(0, n, r =>
                {
                    var row = first + r;
                    var state = (0x9E3779B97F4A7C15UL * (ulong)(row + 1)) ^ 0xD1B54A32D192ED03UL;
                    var c = clusterOf[row] * D;
                    for (var j = 0; j < D; j++)
                    {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        var u = ((state >> 40) * (1f / (1 << 24))) - 0.5f;
                        halves[(r * D) + j] = (Half)(centres[c + j] + (2 * amplitude * u));
                    }
                });
                stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(halves.AsSpan(0, n * D)));
            }
        }

        File.Move(tmp, path, overwrite: true);
        File.WriteAllLines(path + ".clusters.txt", clusterOf.Select(c => c.ToString(CultureInfo.InvariantCulture)));
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
