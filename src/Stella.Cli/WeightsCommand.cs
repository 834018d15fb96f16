using Stella.Core;
using System.CommandLine;
using Stella.Model.Config;
using Stella.Model.Modules;
using Stella.Model.Runtime;
using Stella.Model.Weights;
using TorchSharp;

namespace Stella.Cli;

/// <summary><c>stella weights import|export</c>: PyTorch state dicts in (MAE, CAV-MAE, the authors' STELLA) and out.</summary>
internal static class WeightsCommand
{
    public static Command Create()
    {
        var command = new Command("weights", "Trade weights with PyTorch: import MAE, CAV-MAE or the authors' STELLA checkpoints; export a run for PyTorch.");
        command.Subcommands.Add(Import());
        command.Subcommands.Add(Export());
        return command;
    }

    private static Command Import()
    {
        var file = new Argument<string>("file") { Description = "A torch.save zip file (flat, or under 'model'/'state_dict') or a .safetensors file." };
        var from = new Option<string>("--from")
        {
            Description = "Layout of FILE: mae (facebookresearch/mae ViT-B/16, encoder-only or _full), cav-mae (YuanGongND/cav-mae), stella " +
                "(G-JWLee/STELLA_code checkpoints and our exports) or ours (exports with --names ours).",
            Required = true,
        };
        var avm = new Option<string?>("--avm") { Description = "The authors' AVM checkpoint (module.avmatching_module.*), loaded with a stella import." };
        var model = new Option<string>("--model") { Description = "Model preset the weights are for: tiny or base.", DefaultValueFactory = _ => "base" };
        var output = new Option<string>("--out") { Description = "Weights folder to write (backbone.bin, avm.bin, weights.json): what init:/--init takes.", Required = true };
        var command = new Command("import",
            "Map a PyTorch checkpoint onto our model and write it as a weights folder. Prints how many tensors loaded, then by name: ours that " +
            "stayed at initialisation, the file's that were not used, and shape mismatches refused with both shapes.")
        {
            file, from, avm, model, output,
        };
        command.SetAction(parse =>
        {
            var source = WeightImport.ParseSource(parse.GetValue(from)!);
            var config = ModelConfig.Preset(parse.GetValue(model)!);
            var path = parse.GetValue(file)!;
            var avmPath = parse.GetValue(avm);
            if (avmPath is not null && source != WeightSource.Stella)
            {
                throw new UserInputException("--avm: only with --from stella (MAE and CAV-MAE have no AVM)");
            }

            TorchRuntime.Initialize();
            var (backbone, avmModule) = Build(config);
            using (backbone)
            using (avmModule)
            using (var scope = torch.NewDisposeScope())
            {
                Console.WriteLine($"reading {path} ({WeightImport.SourceName(source)} layout) for the {config.Name} model");
                var tensors = StateDictFile.Read(path);
                var avmTensors = avmPath is null ? null : StateDictFile.Read(avmPath);
                ImportReport report;
                try
                {
                    report = WeightImport.Apply(backbone, avmModule, source, tensors, avmTensors);
                }
                catch (UserInputException e)
                {
                    throw new UserInputException($"{path}: {e.Message}", e);
                }

                foreach (var line in report.Lines())
                {
                    Console.WriteLine(line);
                }

                var dir = parse.GetValue(output)!;
                WeightsFolder.Write(dir, backbone, avmModule, new WeightsInfo(config.Name, WeightImport.SourceName(source), Path.GetFullPath(path), avmPath is null ? null : Path.GetFullPath(avmPath), report.Loaded));
                Console.WriteLine($"wrote {dir} (backbone.bin, avm.bin, {WeightsFolder.InfoName}); start a run from it with init: {dir} or --init {dir}");
            }

            return 0;
        });
        return command;
    }

    private static Command Export()
    {
        var source = new Argument<string>("source") { Description = "A run folder (its latest checkpoint), a checkpoint folder or a weights folder from 'stella weights import'." };
        var output = new Option<string>("--out") { Description = "FILE.pth (torch.save zip) or FILE.safetensors.", Required = true };
        var names = new Option<string>("--names")
        {
            Description = "stella: the authors' keys, shapes and layouts (blocks_a.N.*, patch_embed_a.proj.weight [768,1,16,16], ...; the AVM " +
                "under avmatching_module.*); ours: this project's names.",
            DefaultValueFactory = _ => "stella",
        };
        var model = new Option<string?>("--model") { Description = "Model preset of the weights (tiny or base). Default: the one weights.json records, else tiny." };
        var command = new Command("export", "Write the backbone and the AVM of a run as one flat PyTorch state dict.")
        {
            source, output, names, model,
        };
        command.SetAction(parse =>
        {
            var stella = parse.GetValue(names)!.ToLowerInvariant() switch
            {
                "stella" => true,
                "ours" => false,
                var other => throw new UserInputException($"--names {other}: use stella or ours"),
            };
            var dir = WeightsFolder.Resolve(parse.GetValue(source)!);
            var config = ModelConfig.Preset(parse.GetValue(model) ?? WeightsFolder.RecordedModel(dir) ?? "tiny");
            TorchRuntime.Initialize();
            var (backbone, avm) = Build(config);
            using (backbone)
            using (avm)
            {
                var (_, loaded) = WeightsFolder.Load(dir, backbone, avm);
                var path = parse.GetValue(output)!;
                var written = WeightImport.Export(backbone, avm, path, stella);
                Console.WriteLine($"read {loaded} tensors from {dir} ({config.Name} model); wrote {written} tensors to {path} ({(stella ? "the authors' names" : "our names")})");
            }

            return 0;
        });
        return command;
    }

    // Seed 0 for whatever the import leaves at initialisation, so two imports of one file write the same folder.
    private static (Backbone Backbone, Avm Avm) Build(ModelConfig config)
    {
        torch.manual_seed(0);
        return (new Backbone(config), new Avm(config.Dim, config.AvmHeads));
    }
}
