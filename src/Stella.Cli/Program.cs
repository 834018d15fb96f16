using System.CommandLine;
using Stella.Cli;

var root = new RootCommand(
    "stella: continual audio-video pre-training (STELLA) and coreset selection (COINCIDE) on a CPU by default.\n" +
    "Start with 'stella synth --out data/synth' to render the built-in benchmark, then 'stella inspect CLIP --out DIR' " +
    "to see what the model is fed. Each command's --help explains its options and defaults.");
root.Subcommands.Add(SynthCommand.Create());
root.Subcommands.Add(InspectCommand.Create());
root.Subcommands.Add(ManifestCommand.Create());
root.Subcommands.Add(StreamTrainCommand.Create());
root.Subcommands.Add(PretrainCommand.Create());
root.Subcommands.Add(CompareCommand.Create());
root.Subcommands.Add(DownstreamCommand.Create());
root.Subcommands.Add(ShardCommands.Preprocess());
root.Subcommands.Add(ShardCommands.Replay());
root.Subcommands.Add(ShardCommands.Memory());
root.Subcommands.Add(CoresetCommand.Create());
root.Subcommands.Add(ExtractCommand.Create());
root.Subcommands.Add(WeightsCommand.Create());
// System.CommandLine's own SIGINT/SIGTERM handling returns from Main after a 2 s grace period, while a cancelled stream-train may
// still be writing its checkpoint (libtorch then crashes at exit): the commands that can be stopped handle the signals themselves.
return await CliErrors.RunAsync(() => root.Parse(args).InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }));
