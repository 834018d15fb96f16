using System.CommandLine;
using Stella.Pipeline;

namespace Stella.Cli;

/// <summary><c>stella stream-train</c>: continual pre-training on a task-ordered stream.</summary>
internal static class StreamTrainCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "Job config (YAML).", DefaultValueFactory = _ => "pipelines/synth.yaml" };
        var method = new Option<string?>("--method") { Description = "Learner: finetune, er, der++, lump, mir, gmed, cls-er, esmer, stella, stella-plus, random, lpis-only, rca-only, multitask. Default: the config's (stella)." };
        var output = new Option<string?>("--out") { Description = "Run folder. Default: runs/<config name>-<method>-s<seed>." };
        var seed = new Option<int?>("--seed") { Description = "Seed. Default: the config's (0)." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint." };
        var device = new Option<string?>("--device") { Description = "cpu (default), cuda or auto." };
        var subset = new Option<string?>("--subset") { Description = "Train on a coreset: .npy int64 rows of the manifest's training clips (from 'stella coreset')." };
        var init = new Option<string?>("--init") { Description = InitDescription };
        var command = new Command("stream-train",
            "Stream task-ordered clips through a TPL Dataflow graph: decode -> spectrogram -> patches -> batch -> AVM scoring -> selection -> " +
            "training sink -> memory (learners without an AVM skip scoring and selection), failed clips to quarantine.csv with their stage " +
            "and reason; keep the rehearsal memory as Parquet in checkpoints, evaluate zero-shot retrieval after every task, and write " +
            "results.json, report.md, metrics.jsonl. Ctrl-C or SIGTERM writes a checkpoint; --resume continues.")
        {
            config, method, output, seed, resume, device, subset, init,
        };
        command.SetAction(async (parse, ct) =>
        {
            var job = StreamTrainConfig.Load(parse.GetValue(config)!);
            job.Method = parse.GetValue(method) ?? job.Method;
            job.Seed = parse.GetValue(seed) ?? job.Seed;
            job.Device = parse.GetValue(device) ?? job.Device;
            job.Subset = parse.GetValue(subset) is { } s ? Path.GetFullPath(s) : job.Subset;
            job.Init = parse.GetValue(init) is { } i ? Path.GetFullPath(i) : job.Init;
            var outDir = parse.GetValue(output) ?? Path.Combine("runs", $"{job.Name}-{job.Method}-s{job.Seed}");
            await RunAsync(job, outDir, null, parse.GetValue(resume), ct);
            return 0;
        });
        return command;
    }

    /// <summary>What --init takes (stream-train, replay).</summary>
    public const string InitDescription =
        "Start from these weights instead of a random initialisation: a folder from 'stella weights import', another run's folder (its latest " +
        "checkpoint) or a checkpoint folder. Weights only: optimizers and memory start fresh. Default: the config's init (unset).";

    /// <summary>Runs a stream-train job (clips from <paramref name="source"/>, or the config's manifest) under the live display, stopped by SIGINT/SIGTERM.</summary>
    public static async Task RunAsync(StreamTrainConfig job, string outDir, Stella.Pipeline.Sources.IClipSource? source, bool resume, CancellationToken ct)
    {
        using var stop = new StopSignals(ct);
        var display = new StreamTrainDisplay();
        var run = new StreamTrainJob(job, outDir, display.Log) { Source = source };
        await display.RunAsync(run.Progress, () => run.RunAsync(resume, stop.Token));
    }
}
