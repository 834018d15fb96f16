using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Stella.Coreset;

namespace Stella.Bench;

/// <summary>
/// k-means against faiss on the same data at equal iterations and threads: N = 100,000 planted rows (500 skewed clusters, see
/// <see cref="PlantedFeatures"/>, float32) at widths 64, 256, 1,024 and K of 100, 500, 1,000, 10,000, 20 iterations. Prints per
/// shape our time (reading the rows included) and faiss' (train + final assignment, tools/bench/faiss_kmeans.py through Debian's
/// python3-faiss), the ratio of our k-means alone (without reading the rows, as faiss' time is without its np.load) to faiss',
/// the same for CPU seconds, both objectives (mean cosine after the final assignment) and the load average when the shape
/// started; quick shapes are repeated and their medians compared. Asserts nothing.
/// </summary>
internal static partial class KMeansGrid
{
    public static void Run(int[]? widths = null, int[]? ks = null, int n = 100_000, int iterations = 20, string? folder = null, KMeansPrecision precision = KMeansPrecision.Float32)
    {
        widths ??= [64, 256, 1_024];
        ks ??= [100, 500, 1_000, 10_000];
        folder ??= Path.GetTempPath();
        // faiss runs with OpenMP's default waits unless the user chose them: stella shortens its spins for itself only.
        var userPolicy = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY");
        var userSpin = Environment.GetEnvironmentVariable("GOMP_SPINCOUNT");
        Stella.Model.Runtime.TorchRuntime.PreferShortThreadSpins();
        Stella.Model.Runtime.TorchRuntime.Initialize();
        var policy = $"OMP_WAIT_POLICY {Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? "default"}, GOMP_SPINCOUNT {Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") ?? "default"}";
        var threads = TorchSharp.torch.get_num_threads();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"k-means grid: N = {n}, 500 planted skewed clusters, {iterations} iterations, {threads} threads (faiss: OMP_NUM_THREADS={threads}), {policy} for stella; OMP_WAIT_POLICY {userPolicy ?? "default"}, GOMP_SPINCOUNT {userSpin ?? "default"} for faiss; ours in {KMeansPrecisions.Name(precision)}, faiss in float32"));
        Console.WriteLine("Times are medians over the repeats (5 where one pair takes under 30 s, else 1; ours and faiss alternate), [min-max] beside them.");
        Console.WriteLine("ours k-means: our fit without reading the .npy into memory; faiss' time likewise starts after its np.load and normalize_L2. CPU: ours includes opening and reading the file, faiss' not.");
        Console.WriteLine("      D       K  reps   ours s (with read) [min-max]   ours k-means s   faiss s [min-max]   k-means/faiss  CPU ours/faiss   objective ours  faiss   diff %   load (1 min)");
        var warm = false;
        foreach (var d in widths)
        {
            var path = PlantedFeatures.Ensure(Path.Combine(folder, $"stella-kmeans-grid-{n}x{d}-p500.npy"), n, d, 500, half: false);
            if (!warm)
            {
                // One untimed fit first: the first shape would otherwise pay for compiling the code and torch's first calls (about 0.4 s).
                using var x = FeatureMatrix.Open(path);
                new SphericalKMeans(10, 2, 1234).Fit(x);
                warm = true;
            }

            foreach (var k in ks)
            {
                var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
                var ours = new List<(KMeansResult Result, double Cpu)>();
                var faiss = new List<(double Seconds, double Cpu, double Objective, string Line)>();
                // This machine's run-to-run spread at the small shapes (D 256, K 100: faiss 1.1-1.98 s, ours 1.1-1.9 s within a few minutes) is as large as
                // the difference measured, so a single pair cannot say which is faster: shapes that are quick are repeated.
                var reps = 1;
                for (var rep = 0; rep < reps; rep++)
                {
                    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                    using (var x = FeatureMatrix.Open(path))
                    {
                        ours.Add((new SphericalKMeans(k, iterations, 1234, precision: precision).Fit(x), 0));
                    }

                    ours[^1] = (ours[^1].Result, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
                    faiss.Add(Faiss(path, k, iterations, threads, userPolicy, userSpin));
                    reps = ours[0].Result.Seconds + faiss[0].Seconds < 30 ? 5 : 1;
                }

                var result = ours[0].Result;
                var total = Median(ours.Select(o => o.Result.Seconds));
                var fit = Median(ours.Select(o => o.Result.Seconds - o.Result.ReadSeconds));
                var faissSeconds = Median(faiss.Select(f => f.Seconds));
                var oursCpu = Median(ours.Select(o => o.Cpu));
                var faissCpu = Median(faiss.Select(f => f.Cpu));
                var faissObjective = faiss[0].Objective;
                var diff = double.IsNaN(faissObjective) ? double.NaN : 100 * (result.Objective[^1] - faissObjective) / faissObjective;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {d,5} {k,7} {ours.Count,5} {total,8:0.00} [{ours.Min(o => o.Result.Seconds),5:0.00}-{ours.Max(o => o.Result.Seconds),5:0.00}] {fit,16:0.00} {faissSeconds,9:0.00} [{faiss.Min(f => f.Seconds),5:0.00}-{faiss.Max(f => f.Seconds),5:0.00}] {fit / faissSeconds,14:0.00}x {oursCpu / faissCpu,14:0.00}x {result.Objective[^1],16:0.00000} {faissObjective,7:0.00000} {diff,7:+0.00;-0.00}   {load}"));
                if (double.IsNaN(faissSeconds))
                {
                    Console.WriteLine($"    faiss: {faiss[0].Line}");
                }
            }
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static (double Seconds, double Cpu, double Objective, string Line) Faiss(string path, int k, int iterations, int threads, string? policy, string? spin)
    {
        var info = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine("tools", "bench", "faiss_kmeans.py"), path, k.ToString(CultureInfo.InvariantCulture), iterations.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["OMP_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        // The user's own OpenMP settings (or none), not the ones stella set for itself.
        foreach (var (name, value) in new[] { ("OMP_WAIT_POLICY", policy), ("GOMP_SPINCOUNT", spin) })
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        try
        {
            using var process = Process.Start(info)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            var match = FaissLine().Match(output);
            return match.Success
                ? (Number(match.Groups[1]), Number(match.Groups[2]), Number(match.Groups[3]), output.Trim())
                : (double.NaN, double.NaN, double.NaN, (output + stderr.Result).Trim().Split('\n')[^1]);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (double.NaN, double.NaN, double.NaN, $"/usr/bin/python3 not runnable ({e.Message}); apt-get install python3-faiss");
        }
    }

    private static double Number(Group g) => double.Parse(g.Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"= ([0-9.]+) s \(CPU ([0-9.]+) s\), objective \(mean cosine\) ([0-9.]+)")]
    private static partial Regex FaissLine();
}
