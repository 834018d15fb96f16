using System.CommandLine;
using Stella.Core;

namespace Stella.Cli;

/// <summary><c>stella extract</c>: COINCIDE activations of a trained run's model for a manifest's training clips.</summary>
internal static class ExtractCommand
{
    public static Command Create()
    {
        var run = new Option<string>("--run") { Description = "Run folder whose latest checkpoint holds the model.", Required = true };
        var manifest = new Option<string>("--manifest") { Description = "Manifest (this project's format) of the clips.", Required = true };
        var output = new Option<string>("--out") { Description = "Feature file (.npy float32 [N, 2 M D]; PATH.clips.txt and PATH.labels.txt name the rows), or a folder of Parquet feature shards (with --shard).", Required = true };
        var shard = new Option<int>("--shard") { Description = "This process' part of the training clips (0-based), written as a Parquet shard into the --out folder.", DefaultValueFactory = _ => 0 };
        var numShards = new Option<int>("--num-shards") { Description = "Parts the training clips are split into (contiguous ranges).", DefaultValueFactory = _ => 1 };
        var model = new Option<string>("--model") { Description = "Model preset of the run (tiny or base).", DefaultValueFactory = _ => "tiny" };
        var layers = new Option<string?>("--layers") { Description = "Comma-separated block indices (modality blocks first, then joint). Default: all." };
        var command = new Command("extract", "Activations of our audio-video model for COINCIDE: per layer, the attention output's video and audio tokens, mean-pooled, tanh, L2, concatenated / sqrt(2M).")
        {
            run, manifest, output, model, layers, shard, numShards,
        };
        command.SetAction(async (parse, ct) =>
        {
            var chosen = parse.GetValue(layers)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : throw new UserInputException($"--layers: '{s}' is not an integer")).ToList();
            await new Stella.Pipeline.ExtractJob(parse.GetValue(run)!, parse.GetValue(manifest)!, parse.GetValue(output)!, parse.GetValue(model)!, chosen,
                line => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}"), parse.GetValue(shard), parse.GetValue(numShards)).RunAsync(ct);
            return 0;
        });
        return command;
    }
}
