using System.CommandLine;
using System.Globalization;
using Stella.Pipeline.Compare;

namespace Stella.Cli;

/// <summary><c>stella compare</c>: every method x seed on one config, then the thesis' tables over seeds.</summary>
internal static class CompareCommand
{
    public static Command Create()
    {
        var methods = new Option<string>("--methods") { Description = "Comma-separated learners.", DefaultValueFactory = _ => "finetune,er,der++,lump,stella,stella-plus" };
        var seeds = new Option<string>("--seeds") { Description = "Comma-separated seeds.", DefaultValueFactory = _ => "0,1,2" };
        var config = new Option<string>("--config") { Description = "Job config (YAML) every run uses.", DefaultValueFactory = _ => "pipelines/synth.yaml" };
        var output = new Option<string>("--out") { Description = "Folder for runs/<method>-s<seed>/, compare.md, compare.csv and plots/.", Required = true };
        var init = new Option<string?>("--init") { Description = "Start every run from these weights: a folder from 'stella weights import', a run folder or a checkpoint folder (weights only)." };
        var reference = new Option<string>("--reference") { Description = "Method (or variant) every other one is paired against, seed by seed (compare.md's 'Paired against' section, plots/paired.png); comma-separated for several, each with its own section and plots/paired-vs-<reference>.png; skipped when not compared.", DefaultValueFactory = _ => "der++" };
        var variant = new Option<string[]>("--variant")
        {
            Description = "LABEL=CONFIG: also run CONFIG (its own method, every seed, the same clips) under LABEL, compared and paired like a method; repeatable. E.g. stella-avm=pipelines/synth-avm.yaml.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var memoryItems = new Option<string?>("--memory-items")
        {
            Description = "Memory sweep (thesis Fig. 2.6): comma-separated memory sizes in items, e.g. 16,32,64; every method x seed runs at each size (runs/<method>-m<size>-s<seed>/) and memory.md, memory.csv and plots/memory_size.png are written instead of compare.md.",
        };
        var taskOrders = new Option<int>("--task-orders")
        {
            Description = "Task-order study (thesis Sec. 2.12): every method x seed runs in K seeded permutations of the task order (runs/<method>-o<k>-s<seed>/); orders.md and orders.csv are written instead of compare.md.",
        };
        var downstream = new Option<string?>("--downstream")
        {
            Description = "Also score every run on downstream tasks (comma-separated: classify, segment, retrieval; see 'stella downstream') and add compare.md's Table 2.5 section.",
        };
        var heldOut = new Option<string?>("--heldout") { Description = "With --downstream retrieval: the held-out benchmark's manifest (classes no task used)." };
        var fromClips = new Option<bool>("--from-clips") { Description = "Decode the clips in every run instead of preprocessing each seed's clips once into patch shards (same results, slower)." };
        var command = new Command("compare",
            "Run each method with each seed (finished runs are kept, interrupted ones resume), then write Table 2.1/2.2/2.3-style tables " +
            "(mean ± std over seeds, best in bold, second underlined) as Markdown and CSV, with A/F and modality-gap plots, and each method's " +
            "paired differences against --reference with 95% intervals over seeds and over clips and a verdict.")
        {
            methods, seeds, config, output, fromClips, init, reference, variant, memoryItems, taskOrders, downstream, heldOut,
        };
        command.SetAction(async (parse, ct) =>
        {
            var methodList = parse.GetValue(methods)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var seedList = parse.GetValue(seeds)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new Stella.Core.UserInputException($"--seeds: '{s}' is not an integer"))
                .ToList();
            var references = parse.GetValue(reference)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (references.Length == 0)
            {
                throw new Stella.Core.UserInputException("--reference: name at least one method");
            }

            var sizes = (parse.GetValue(memoryItems) ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw new Stella.Core.UserInputException($"--memory-items: '{s}' is not an integer"))
                .ToList();
            using var stop = new StopSignals(ct);
            await new CompareJob(parse.GetValue(config)!, methodList, seedList, parse.GetValue(output)!, line => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}"))
            {
                FromShards = !parse.GetValue(fromClips), Reference = references[0], References = references[1..],
                Variants = (parse.GetValue(variant) ?? []).Select(CompareVariant.Parse).ToList(),
                Init = parse.GetValue(init) is { } i ? Path.GetFullPath(i) : null,
                MemorySizes = sizes, TaskOrders = parse.GetValue(taskOrders),
                Downstream = (parse.GetValue(downstream) ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                HeldOut = parse.GetValue(heldOut) is { } h ? Path.GetFullPath(h) : null,
            }.RunAsync(stop.Token);
            return 0;
        });
        return command;
    }
}
