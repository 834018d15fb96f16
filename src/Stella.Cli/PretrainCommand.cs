using System.CommandLine;
using Stella.Pipeline;
using Stella.Pipeline.Warmup;

namespace Stella.Cli;

/// <summary><c>stella pretrain</c>: the authors' warm-up before continual pre-training, into a weights folder for <c>init:</c>.</summary>
internal static class PretrainCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config") { Description = "Job config (YAML); its 'warmup:' section gives the settings (defaults when absent).", DefaultValueFactory = _ => "pipelines/synth.yaml" };
        var output = new Option<string?>("--out") { Description = "Warm-up folder. Default: the cache stream-train uses (runs/warmup, or the section's 'cache')." };
        var seed = new Option<int?>("--seed") { Description = "Seed. Default: the config's." };
        var device = new Option<string?>("--device") { Description = "cpu (default), cuda or auto." };
        var init = new Option<string?>("--init") { Description = "Weights the warm-up starts from (e.g. 'stella weights import' of ImageNet MAE). Default: the config's init (unset: random)." };
        var epochs = new Option<int?>("--epochs") { Description = "Backbone warm-up epochs. Default: the section's (20)." };
        var avmEpochs = new Option<int?>("--avm-epochs") { Description = "Then train the AVM alone, backbone frozen, for this many epochs. Default: the section's (0)." };
        var command = new Command("pretrain",
            "Warm up before the continual tasks, as the authors do: the backbone trains i.i.d. (shuffled anew every epoch, MAE + contrastive) " +
            "on the manifest's warm-up rows (split 'base': classes no task uses), then, with --avm-epochs > 0, the AVM alone with the backbone " +
            "frozen. Each phase is a stream-train run with its checkpoints (Ctrl-C or SIGTERM writes one; the same command again continues " +
            "it); a finished phase is reused. Writes a weights folder for 'init:' or --init, and prints it.")
        {
            config, output, seed, device, init, epochs, avmEpochs,
        };
        command.SetAction(async (parse, ct) =>
        {
            var job = StreamTrainConfig.Load(parse.GetValue(config)!);
            job.Seed = parse.GetValue(seed) ?? job.Seed;
            job.Device = parse.GetValue(device) ?? job.Device;
            job.Init = parse.GetValue(init) is { } i ? Path.GetFullPath(i) : job.Init;
            job.Warmup ??= new WarmupConfig();
            job.Warmup.Epochs = parse.GetValue(epochs) ?? job.Warmup.Epochs;
            job.Warmup.AvmEpochs = parse.GetValue(avmEpochs) ?? job.Warmup.AvmEpochs;
            var root = parse.GetValue(output) is { } o ? Path.GetFullPath(o) : WarmupJob.CacheRoot(job, Path.Combine("runs", $"{job.Name}-pretrain"));
            using var stop = new StopSignals(ct);
            var display = new StreamTrainDisplay();
            var warmup = new WarmupJob(job, root, display.Log);
            string weights = null!;
            await display.RunAsync(warmup.Progress, async () => weights = await warmup.RunAsync(stop.Token));
            Console.WriteLine($"warm-up weights: {weights}");
            Console.WriteLine($"start a run from them with --init {weights} (or 'init:' in a config); a config's 'warmup:' section does this by itself");
            return 0;
        });
        return command;
    }
}
