using System.Globalization;
using Stella.Bench;

// make bench: every benchmark prints its figures; none asserts. Usage: Stella.Bench [data|step|checkpoint|shards|coreset|coreset-llava|stream|all] [DATA_DIR] [JOBS] [CONFIG].
var what = args.Length > 0 ? args[0] : "all";
if (what == "step-one")
{
    return StepBench.RunOne(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture));
}

var data = args.Length > 1 ? args[1] : "data/synth";
var jobs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : Environment.ProcessorCount;
if (what is "data" or "all")
{
    await DataPathBench.RunAsync(data, jobs);
}

if (what is "step" or "all")
{
    StepBench.RunAll();
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

if (what is "coreset-llava" or "all")
{
    LlavaScaleBench.Run(what == "coreset-llava" && args.Length > 1 ? args[1] : null);
}

if (what is "stream" or "all")
{
    await StreamBench.RunAsync(args.Length > 3 ? args[3] : "pipelines/synth.yaml");
}

return 0;
