using System.CommandLine;
using Stella.Model.Config;
using Stella.Pipeline;
using Stella.Pipeline.Shards;

namespace Stella.Cli;

/// <summary><c>stella preprocess</c>, <c>stella replay</c> and <c>stella memory show</c>: decode once into patch shards, train from them, look inside a memory.</summary>
internal static class ShardCommands
{
    public static Command Preprocess()
    {
        var config = new Option<string>("--config") { Description = "Job config (YAML): manifest, model geometry, seed of the training windows.", DefaultValueFactory = _ => "pipelines/synth.yaml" };
        var output = new Option<string?>("--out") { Description = "Shard folder. Default: data/shards/<config name>-<model>-s<seed>." };
        var shard = new Option<int>("--shard") { Description = "This job's share of the work (0-based).", DefaultValueFactory = _ => 0 };
        var shards = new Option<int>("--num-shards") { Description = "Number of jobs sharing the work; their files merge by listing the folder.", DefaultValueFactory = _ => 1 };
        var format = new Option<string>("--format") { Description = "compact: the decoded 8-bit frames and the fbank, cut into patches when read (schema version 2); patches: float32 patches (version 1, about 2.5x the bytes).", DefaultValueFactory = _ => "compact" };
        format.AcceptOnlyFromAmong("compact", "patches");
        var fbank = new Option<string>("--fbank") { Description = "How compact shards store the fbank: float32 (lossless) or float16 (half its bytes, not lossless).", DefaultValueFactory = _ => "float32" };
        fbank.AcceptOnlyFromAmong("float32", "float16");
        var command = new Command("preprocess",
            "Decode and featurize the config's clips once into self-describing Parquet patch shards (training windows of the config's " +
            "seed, evaluation windows of the retrieval and linear-probe clips, ground truth where present). Train from them with 'stella replay'.")
        {
            config, output, shard, shards, format, fbank,
        };
        command.SetAction(async (parse, ct) =>
        {
            var job = StreamTrainConfig.Load(parse.GetValue(config)!);
            var outDir = parse.GetValue(output) ?? Path.Combine("data", "shards", $"{job.Name}-{job.Model}-s{job.Seed}");
            if (parse.GetValue(format) == "patches" && parse.GetValue(fbank) != "float32")
            {
                throw new Stella.Core.UserInputException("--fbank applies to compact shards only (--format patches stores float32 patches)");
            }

            await new PreprocessJob(job, outDir, parse.GetValue(shard), parse.GetValue(shards), Log) { Patches = parse.GetValue(format) == "patches", HalfFbank = parse.GetValue(fbank) == "float16" }.RunAsync(ct);
            return 0;
        });
        return command;
    }

    public static Command Replay()
    {
        var shardDirs = new Option<string[]>("--shards") { Description = "Shard folder(s): from 'stella preprocess', or a run's memory (RUN or RUN/.../memory). Repeatable.", Required = true, AllowMultipleArgumentsPerToken = true };
        var evalShards = new Option<string[]>("--eval-shards") { Description = "Folders whose evaluation rows only are used (e.g. evaluate a memory replay on the preprocessed retrieval set).", AllowMultipleArgumentsPerToken = true };
        var config = new Option<string>("--config") { Description = "Training settings (method, model, batch, epochs, memory...); its manifest is not read.", DefaultValueFactory = _ => "pipelines/synth.yaml" };
        var method = new Option<string?>("--method") { Description = "Learner. Default: the config's." };
        var output = new Option<string?>("--out") { Description = "Run folder. Default: runs/<config name>-<method>-s<seed>-replay." };
        var seed = new Option<int?>("--seed") { Description = "Seed of the learner (the training windows are the ones stored in the shards)." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint." };
        var init = new Option<string?>("--init") { Description = StreamTrainCommand.InitDescription };
        var command = new Command("replay",
            "Train and evaluate from patch shards in task order: the same training sink, memory, checkpoints and evaluation as stream-train, " +
            "without decoding any video.")
        {
            shardDirs, evalShards, config, method, output, seed, resume, init,
        };
        command.SetAction(async (parse, ct) =>
        {
            var job = StreamTrainConfig.Load(parse.GetValue(config)!);
            job.Method = parse.GetValue(method) ?? job.Method;
            job.Seed = parse.GetValue(seed) ?? job.Seed;
            job.Init = parse.GetValue(init) is { } i ? Path.GetFullPath(i) : job.Init;
            var dirs = parse.GetValue(shardDirs)!.Select(d => File.Exists(Path.Combine(d, "checkpoints", "LATEST")) ? MemoryReport.MemoryDirectory(d) : d).ToList();
            var source = await PatchShardSource.OpenAsync(dirs, ModelConfig.Preset(job.Model), Log, ct, parse.GetValue(evalShards));
            if (source.Files > 0 && source.WindowSeed != job.Seed)
            {
                Log($"note: the shards hold the training windows of seed {source.WindowSeed}; seed {job.Seed} only changes the learner");
            }

            var outDir = parse.GetValue(output) ?? Path.Combine("runs", $"{job.Name}-{job.Method}-s{job.Seed}-replay");
            await StreamTrainCommand.RunAsync(job, outDir, source, parse.GetValue(resume), ct);
            return 0;
        });
        return command;
    }

    public static Command Memory()
    {
        var run = new Argument<string>("run") { Description = "Run folder (its latest checkpoint's memory is shown) or a memory folder." };
        var output = new Option<string?>("--out") { Description = "Folder for memory.md and the PNGs. Default: RUN/memory-show." };
        var model = new Option<string>("--model") { Description = "Model preset the run used (tiny or base).", DefaultValueFactory = _ => "tiny" };
        var perTask = new Option<int>("--per-task") { Description = "Items pictured per task.", DefaultValueFactory = _ => 2 };
        var show = new Command("show", "Counts per task, bytes, and spectrograms and frames of a few items of a run's rehearsal memory.") { run, output, model, perTask };
        show.SetAction(async (parse, ct) =>
        {
            var dir = parse.GetValue(run)!;
            var outDir = parse.GetValue(output) ?? Path.Combine(dir, "memory-show");
            var text = await MemoryReport.ShowAsync(dir, outDir, ModelConfig.Preset(parse.GetValue(model)!), parse.GetValue(perTask), ct);
            Console.WriteLine(text.Terminal.TrimEnd());
            Console.WriteLine($"\npictures and memory.md: {outDir}");
            return 0;
        });
        return new Command("memory", "Look inside a run's rehearsal memory.") { show };
    }

    private static void Log(string line) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}");
}
