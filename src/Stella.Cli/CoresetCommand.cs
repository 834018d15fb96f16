using System.CommandLine;
using Stella.Core;
using Stella.Coreset;

namespace Stella.Cli;

/// <summary><c>stella coreset</c>: COINCIDE (or a baseline) on a feature file.</summary>
internal static class CoresetCommand
{
    public static Command Create()
    {
        var features = new Option<string>("--features") { Description = ".npy feature matrix [N, D], float16 or float32 (the authors' extractor output works as it is), or a folder of Parquet feature shards from stella extract --shard.", Required = true };
        var ratio = new Option<double>("--ratio") { Description = "Share of N to keep, in (0, 1].", DefaultValueFactory = _ => 0.2 };
        var clusters = new Option<int>("--clusters") { Description = "K of the spherical k-means.", Required = true };
        var tau = new Option<double>("--tau") { Description = "Temperature of P = softmax((S / D) / tau).", DefaultValueFactory = _ => 0.1 };
        var method = new Option<string>("--method") { Description = "coincide, random, semdedup, selfsup or nearest.", DefaultValueFactory = _ => "coincide" };
        var transfer = new Option<string>("--transfer") { Description = "Transferability: 'reference' (language halves, 0.9 cut, as the authors' code) or 'thesis' (whole centroids, Eq. 3.4).", DefaultValueFactory = _ => "reference" };
        var layers = new Option<int?>("--layers") { Description = "Layer blocks per feature row (reference transferability uses the second half of each). Default: the layers stella extract wrote beside the features (PATH.extract.json, or extract.json in a shard folder), else 5 (the authors' feature files)." };
        var iterations = new Option<int>("--iterations") { Description = "k-means iterations.", DefaultValueFactory = _ => 20 };
        var plusPlus = new Option<bool>("--kmeans-plus-plus") { Description = "Seed centroids with k-means++ (one pass over the data per centroid) instead of random rows." };
        var project = new Option<int>("--project") { Description = "Approximation for very wide features: cluster in a seeded random projection to this many dimensions, rebuild the centroids in the full space, and report the effect on the full-space objective (0: exact).", DefaultValueFactory = _ => 0 };
        var precision = new Option<string>("--kmeans-precision") { Description = "Arithmetic of the k-means assignment GEMM: float32 (as faiss) or bfloat16 (GEMMs about 3x, passes about 2x faster where the CPU has AVX-512 BF16 or AMX; a row whose two best centroids are within about 0.01 may take the second; meant with --project, whose projection distorts cosines far more). The objective and centroids stay float32.", DefaultValueFactory = _ => "float32" };
        var labels = new Option<string?>("--labels") { Description = "Text file with one label per row: the report shows how the coreset covers them against random." };
        var seed = new Option<int>("--seed") { Description = "Seed.", DefaultValueFactory = _ => 1234 };
        var output = new Option<string>("--out") { Description = "Folder for indices.npy, assignments.npy, centroids.npy, summary.json, report.md.", Required = true };
        var command = new Command("coreset",
            "Cluster features with spherical k-means, then choose a coreset: COINCIDE (transferability, density, P per cluster, greedy MMD " +
            "inside each cluster) or a baseline (random, SemDeDup, Self-Sup prototypicality, nearest to centroid).")
        {
            features, ratio, clusters, tau, method, transfer, layers, iterations, plusPlus, project, precision, labels, seed, output,
        };
        command.SetAction(parse =>
        {
            var mode = parse.GetValue(transfer) switch
            {
                "reference" => TransferMode.Reference,
                "thesis" => TransferMode.Thesis,
                var other => throw new UserInputException($"--transfer must be 'reference' or 'thesis' (got '{other}')"),
            };
            var kmeansPrecision = KMeansPrecisions.Parse(parse.GetValue(precision)!);
            var featuresPath = parse.GetValue(features)!;
            var layerBlocks = parse.GetValue(layers);
            if (layerBlocks is null)
            {
                var (blocks, source) = Stella.Pipeline.ExtractMetadata.CoresetLayers(featuresPath);
                Log($"--layers {blocks} (from {source})");
                layerBlocks = blocks;
            }

            CoresetJob.Run(new CoresetSettings
            {
                Features = featuresPath, Out = parse.GetValue(output)!, Clusters = parse.GetValue(clusters), Method = parse.GetValue(method)!,
                Iterations = parse.GetValue(iterations), Seed = parse.GetValue(seed), Labels = parse.GetValue(labels), PlusPlus = parse.GetValue(plusPlus),
                Project = parse.GetValue(project), KMeansPrecision = kmeansPrecision,
                Coincide = new CoincideOptions { Ratio = parse.GetValue(ratio), Tau = parse.GetValue(tau), Transfer = mode, Layers = layerBlocks.Value },
            }, Log);
            return 0;
        });
        return command;
    }

    private static void Log(string line) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}");
}
