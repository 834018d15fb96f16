using System.Globalization;
using Stella.Bench;

// make bench: every benchmark prints its figures; none asserts. Usage: Stella.Bench [data|efficiency|checkpoint|shards|coreset|kmeans-grid|planted|coreset-llava|stream|all] [DATA_DIR] [JOBS] [CONFIG].
var what = args.Length > 0 ? args[0] : "all";
if (what == "efficiency-one")
{
    return EfficiencyBench.RunOne(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture));
}

if (what == "efficiency")
{
    // Stella.Bench efficiency [PRESETS] [METHODS] [OUT.json], e.g. efficiency tiny stella,der++ (all: every preset or method).
    string[]? Names(int i) => args.Length > i && args[i] != "all" ? args[i].Split(',') : null;
    return EfficiencyBench.RunAll(Names(1), Names(2), args.Length > 3 ? args[3] : EfficiencyBench.DefaultOutput);
}

var data = args.Length > 1 ? args[1] : "data/synth";
var jobs = args.Length > 2 && int.TryParse(args[2], CultureInfo.InvariantCulture, out var j) ? j : Environment.ProcessorCount;
if (what is "data" or "all")
{
    await DataPathBench.RunAsync(data, jobs);
}

if (what is "all")
{
    EfficiencyBench.RunAll(null, null, EfficiencyBench.DefaultOutput);
}

if (what is "checkpoint" or "all")
{
    await CheckpointBench.RunAsync();
}

if (what is "shards" or "all")
{
    await ShardBench.RunAsync(args.Length > 3 ? args[3] : "pipelines/synth.yaml");
}

if (what is "coreset" or "all")
{
    CoresetBench.Run();
}

if (what is "kmeans-grid" or "all")
{
    // Stella.Bench kmeans-grid [WIDTHS] [KS] [float32|bfloat16], e.g. kmeans-grid 256 500 (ours in bfloat16 against faiss in float32 with the third).
    int[]? List(int i) => args.Length > i ? args[i].Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray() : null;
    var grid = what == "kmeans-grid";
    KMeansGrid.Run(grid ? List(1) : null, grid ? List(2) : null, precision: grid && args.Length > 3 ? Stella.Coreset.KMeansPrecisions.Parse(args[3]) : Stella.Coreset.KMeansPrecision.Float32);
}

if (what is "planted")
{
    // Stella.Bench planted N D CLUSTERS OUT.npy [f16]: a planted feature file (the data of the k-means grid and of `stella coreset` trials).
    PlantedFeatures.Write(args[4], int.Parse(args[1], CultureInfo.InvariantCulture), int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture), half: args.Length > 5 && args[5] == "f16");
}

if (what is "coreset-llava" or "all")
{
    // Stella.Bench coreset-llava [FOLDER] [bfloat16|float32]: the k-means assignment's arithmetic (default bfloat16, the setting for --project).
    LlavaScaleBench.Run(what == "coreset-llava" && args.Length > 1 ? args[1] : null, precision: what == "coreset-llava" && args.Length > 2 ? Stella.Coreset.KMeansPrecisions.Parse(args[2]) : Stella.Coreset.KMeansPrecision.BFloat16);
}

if (what is "stream" or "all")
{
    await StreamBench.RunAsync(args.Length > 3 ? args[3] : "pipelines/synth.yaml");
}

return 0;
