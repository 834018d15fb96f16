using System.CommandLine;
using Stella.Core.Manifests;
using Stella.Core.Tasks;

namespace Stella.Cli;

/// <summary><c>stella manifest</c>: turns VGGSound / AudioSet lists into a task-ordered manifest, and checks a manifest against its data root.</summary>
internal static class ManifestCommand
{
    public static Command Create()
    {
        var command = new Command("manifest", "Build task-ordered manifests of real datasets (Continual-VS, Continual-AS) and check manifests against their clips.");
        command.Subcommands.Add(VggSound());
        command.Subcommands.Add(AudioSet());
        command.Subcommands.Add(StellaOfficial());
        command.Subcommands.Add(Check());
        return command;
    }

    private static Command VggSound()
    {
        var csv = new Option<string>("--csv") { Description = "VGGSound's vggsound.csv (youtube_id, start_seconds, label, train|test).", Required = true };
        var classes = new Option<string>("--classes") { Description = "VGGSound's class file with categories (stat.csv: label, num_samples, category).", Required = true };
        var split = new Option<string>("--split") { Description = "Task split rule.", DefaultValueFactory = _ => "pipelines/tasks/continual-vs.yaml" };
        var template = new Option<string>("--template") { Description = "Clip file name under the data root, from {id} and {start}.", DefaultValueFactory = _ => VggSoundManifestReader.DefaultTemplate };
        var output = new Option<string>("--out") { Description = "Folder for manifest.csv and tasks.json.", Required = true };
        var cmd = new Command("vggsound", "Apply the Continual-VS rule (8 tasks, first 20 classes of each category set, first 400 train clips per class, 5 retrieval clips per class).")
        {
            csv, classes, split, template, output,
        };
        cmd.SetAction(parse =>
        {
            var rule = TaskSplitFile.Load(parse.GetValue(split)!);
            var tasks = rule.ApplyCategoryRule(VggSoundClassFile.Read(parse.GetValue(classes)!), parse.GetValue(classes)!);
            var manifest = VggSoundManifestReader.Read(parse.GetValue(csv)!, tasks, parse.GetValue(template)!, rule.TrainClipsPerClass, rule.RetrievalClipsPerClass);
            return Write(manifest, parse.GetValue(output)!);
        });
        return cmd;
    }

    private static Command AudioSet()
    {
        var train = new Option<string>("--train-csv") { Description = "AudioSet segments CSV of the training clips.", Required = true };
        var eval = new Option<string>("--eval-csv") { Description = "AudioSet segments CSV of the evaluation clips (retrieval and test).", Required = true };
        var ontology = new Option<string>("--ontology") { Description = "AudioSet ontology.json.", Required = true };
        var split = new Option<string>("--split") { Description = "Task split (class lists).", DefaultValueFactory = _ => "pipelines/tasks/continual-as.yaml" };
        var template = new Option<string>("--template") { Description = "Clip file name under the data root, from {id} and {start}.", DefaultValueFactory = _ => "{id}_{start}.mp4" };
        var output = new Option<string>("--out") { Description = "Folder for manifest.csv and tasks.json.", Required = true };
        var cmd = new Command("audioset", "Map AudioSet clips to the Continual-AS tasks (7 tasks) by their first listed positive label.")
        {
            train, eval, ontology, split, template, output,
        };
        cmd.SetAction(parse =>
        {
            var rule = TaskSplitFile.Load(parse.GetValue(split)!);
            var tasks = rule.ToTaskMap(parse.GetValue(split)!);
            var names = AudioSetManifestReader.ReadOntology(parse.GetValue(ontology)!);
            var trainClips = AudioSetManifestReader.Read(parse.GetValue(train)!, names, tasks, ClipSplit.Train, parse.GetValue(template)!, rule.TrainClipsPerClass);
            var evalClips = AudioSetManifestReader.Read(parse.GetValue(eval)!, names, tasks, ClipSplit.Test, parse.GetValue(template)!, 0, rule.RetrievalClipsPerClass);
            var merged = trainClips.Clips.Concat(evalClips.Clips).OrderBy(c => c.Task).ToList();
            return Write(new ClipManifest(parse.GetValue(train)!, tasks, merged), parse.GetValue(output)!);
        });
        return cmd;
    }

    private static Command StellaOfficial()
    {
        var train = new Option<string>("--train") { Description = "The authors' training CSV (e.g. vgg_train_cleaned_shrink8.csv: index, vid, frames_path, wav, label, category; no header).", Required = true };
        var retrieval = new Option<string>("--retrieval") { Description = "Their retrieval CSV (e.g. vgg_test_5_per_class_for_retrieval_cleaned_shrink8.csv).", Required = true };
        var warmup = new Option<string?>("--base") { Description = "Optional CSV of warm-up clips (classes no task uses), written as split 'base' for 'stella pretrain' / 'warmup:'." };
        var tasks = new Option<string?>("--tasks") { Description = "Categories in task order, comma-separated (e.g. sports,music,vehicle,people,animals,home_nature,others_part1,others_part2). Default: the order the training CSV first names them." };
        var output = new Option<string>("--out") { Description = "Folder for manifest.csv and tasks.json (paths stay relative to their data home: give it as 'data_home:' with 'source: stella-official' in the config).", Required = true };
        var cmd = new Command("stella-official", "A manifest of the STELLA authors' preprocessed layout (frames/{id}/frame_{0..79}.jpg and an MP3 or WAV per clip) from their CSVs; a task is a category.")
        {
            train, retrieval, warmup, tasks, output,
        };
        cmd.SetAction(parse =>
        {
            var order = parse.GetValue(tasks)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var result = StellaOfficialManifestReader.Read(parse.GetValue(train)!, parse.GetValue(retrieval)!, parse.GetValue(warmup), order);
            foreach (var line in result.LeftOut.Take(10))
            {
                Console.Error.WriteLine($"left out: {line}");
            }

            if (result.LeftOut.Count > 0)
            {
                Console.Error.WriteLine($"{result.LeftOut.Count} rows left out");
            }

            return Write(result.Manifest, parse.GetValue(output)!);
        });
        return cmd;
    }

    private static Command Check()
    {
        var manifest = new Argument<string>("manifest") { Description = "A manifest.csv (with tasks.json beside it)." };
        var root = new Option<string?>("--data-root") { Description = "Folder the clip paths are relative to (the data_home of the authors' layout). Default: the manifest's folder." };
        var cmd = new Command("check", "Read a manifest, resolve every clip under the data root (refusing paths that escape it), and count missing files.")
        {
            manifest, root,
        };
        cmd.SetAction(parse =>
        {
            var path = parse.GetValue(manifest)!;
            var m = StellaManifestReader.Read(path);
            var data = new DataRoot(parse.GetValue(root) ?? Path.GetDirectoryName(Path.GetFullPath(path))!);
            // A clip of the authors' layout is a frame folder and an audio file; a media file otherwise.
            var missing = m.Clips.Where(c => c.AudioPath is null
                ? !File.Exists(data.Resolve(c.RelativePath, path, c.Row))
                : !Directory.Exists(data.Resolve(c.RelativePath, path, c.Row)) || !File.Exists(data.Resolve(c.AudioPath, path, c.Row))).ToList();
            foreach (var t in m.Tasks.Tasks.Select((t, i) => (t, i)))
            {
                var clips = m.Clips.Where(c => c.Task == t.i).ToList();
                Console.WriteLine($"task {t.i} {t.t.Name}: {t.t.Classes.Count} classes, {clips.Count(c => c.Split == ClipSplit.Train)} train, {clips.Count(c => c.Split == ClipSplit.Retrieval)} retrieval clips");
            }

            foreach (var c in missing.Take(10))
            {
                Console.Error.WriteLine($"missing: {path}:{c.Row}: {c.RelativePath}{(c.AudioPath is null ? string.Empty : $" or {c.AudioPath}")}");
            }

            Console.WriteLine($"{m.Clips.Count} clips, {missing.Count} missing");
            return missing.Count == 0 ? 0 : 1;
        });
        return cmd;
    }

    private static int Write(ClipManifest manifest, string outDir)
    {
        Directory.CreateDirectory(outDir);
        StellaManifestWriter.Write(Path.Combine(outDir, "manifest.csv"), manifest.Clips);
        TaskMap.Write(Path.Combine(outDir, "tasks.json"), manifest.Tasks.Benchmark, manifest.Tasks.Tasks);
        Console.WriteLine($"{manifest.Clips.Count} clips in {manifest.Tasks.Tasks.Count} tasks -> {outDir}");
        return 0;
    }
}
