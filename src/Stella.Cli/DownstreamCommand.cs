using System.CommandLine;
using Stella.Pipeline;
using Stella.Pipeline.Downstream;

namespace Stella.Cli;

/// <summary><c>stella downstream RUN</c>: the thesis' Table 2.5 analogues on a finished run's representation.</summary>
internal static class DownstreamCommand
{
    public static Command Create()
    {
        var run = new Argument<string>("run") { Description = "A run folder (its latest checkpoint's weights are judged)." };
        var config = new Option<string>("--config") { Description = "The config the run was trained with (its clips are used).", DefaultValueFactory = _ => "pipelines/synth.yaml" };
        var task = new Option<string>("--task")
        {
            Description = "classify (an MLP on frozen embeddings over every task's classes, accuracy on the retrieval clips), segment (a token decoder on frozen video features predicting the sounding object, mIoU), retrieval (fine-tune on --heldout, then R@1/5/10 both ways on its retrieval clips); comma-separated.",
            DefaultValueFactory = _ => "classify,segment",
        };
        var heldOut = new Option<string?>("--heldout") { Description = "retrieval: manifest of a held-out benchmark whose classes no task used (e.g. 'stella synth --out data/heldout --class-offset 12 --tasks 1 --classes-per-task 6 --base-classes 0')." };
        var epochs = new Option<int>("--retrieval-epochs") { Description = "retrieval: fine-tuning passes over the held-out training clips.", DefaultValueFactory = _ => 5 };
        var command = new Command("downstream", "Judge a finished run's representation beyond its tasks (thesis Table 2.5): retrieval after fine-tuning on held-out classes, classification by an MLP on frozen features, sounding-object segmentation; writes RUN/downstream.json.")
        {
            run, config, task, heldOut, epochs,
        };
        command.SetAction(async (parse, ct) =>
        {
            var tasks = parse.GetValue(task)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            using var stop = new StopSignals(ct);
            await new DownstreamJob(StreamTrainConfig.Load(parse.GetValue(config)!), parse.GetValue(run)!, tasks, line => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}"))
            {
                HeldOut = parse.GetValue(heldOut), RetrievalEpochs = parse.GetValue(epochs),
            }.RunAsync(stop.Token);
            return 0;
        });
        return command;
    }
}
