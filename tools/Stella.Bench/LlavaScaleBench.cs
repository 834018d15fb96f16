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
/// clustering (exact assignment would cost 2.7e14 flops a pass), its k-means assignment in bfloat16 (--kmeans-precision; float32
/// on request; 2026-12-01: 23-33 s a pass against 12.5 s, full-space objective 0.591856 against 0.591923, planted clusters
/// covered 9,923 against 9,924). Prints the time and peak RSS of every phase and the full-space objective; asserts nothing.
/// </summary>
internal static class LlavaScaleBench
{
    public const int N = 665_298;
    public const int D = 20_480;
    public const int Planted = 10_000;

    public static void Run(string? folder = null, int k = 10_000, int project = 256, int iterations = 20, KMeansPrecision precision = KMeansPrecision.BFloat16)
    {
        folder ??= Path.GetTempPath();
        var path = Path.Combine(folder, $"stella-coreset-llava-{N}x{D}-f16.npy");
        var bytes = (long)N * D * 2;
        Stella.Model.Runtime.TorchRuntime.PreferShortThreadSpins();
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
            PlantedFeatures.Write(path, N, D, Planted, half: true);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"coreset (b): generated {path} ({bytes / 1e9:0.0} GB) in {watch.Elapsed.TotalSeconds:0} s"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"coreset (b): N = {N}, D = {D} float16, K = {k}, ratio 0.2, --project {project}, {iterations} iterations, k-means in {KMeansPrecisions.Name(precision)}, {Environment.ProcessorCount} cores"));
        var outDir = Path.Combine(folder, "stella-coreset-llava-out");
        var total = Stopwatch.StartNew();
        CoresetJob.Run(
            new CoresetSettings { Features = path, Out = outDir, Clusters = k, Iterations = iterations, Project = project, KMeansPrecision = precision, Labels = File.Exists(path + ".clusters.txt") ? path + ".clusters.txt" : null, Coincide = new CoincideOptions { Ratio = 0.2 } },
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
}
