using System.Globalization;
using System.Text;
using Stella.Pipeline.Reports;

namespace Stella.Pipeline.Compare;

/// <summary>
/// <c>stella compare</c>: runs every method with every seed on one config (finished runs are kept, interrupted ones resumed), then
/// writes the thesis' tables over seeds as Markdown and CSV: retrieval A and F per direction and k (Table 2.1), efficiency
/// (Table 2.2), the selection ablation when its variants are among the methods (Table 2.3), with mean, standard deviation, the
/// best value in bold and the second underlined; plus A/F bars and the modality gap over tasks per method; and every method paired
/// against a reference (<see cref="Reference"/>, <see cref="PairedStatistics"/>) per seed, with intervals over seeds and over clips.
/// </summary>
public sealed class CompareJob(string configPath, IReadOnlyList<string> methods, IReadOnlyList<int> seeds, string outDir, Action<string> log)
{
    private static readonly string[] Ablation = ["random", "lpis-only", "rca-only", "stella"];

    /// <summary>
    /// Decode each seed's clips once into patch shards (outDir/shards/s&lt;seed&gt;) and train every method from them: the results
    /// are those of training from the clips (same windows; tested), without decoding the same clips once per method. Default true.
    /// </summary>
    public bool FromShards { get; init; } = true;

    /// <summary>Initial weights every run starts from (replaces the config's <c>init</c>); null keeps the config's.</summary>
    public string? Init { get; init; }

    /// <summary>
    /// The method every other one is paired against in compare.md's "Paired against" section; when it is not among the methods,
    /// the section says so and holds nothing else. Default der++. <see cref="References"/> adds more.
    /// </summary>
    public string Reference { get; init; } = "der++";

    /// <summary>
    /// Further references after <see cref="Reference"/>, each with its own "Paired against" section and plot
    /// (plots/paired-vs-&lt;reference&gt;.png), e.g. a variant paired against the method it varies.
    /// </summary>
    public IReadOnlyList<string> References { get; init; } = [];

    /// <summary>
    /// Runs of other configs, each under its own label and compared like a method (tables, pairing, as a reference): e.g. stella
    /// with the AVM pre-trained in the warm-up (<c>stella-avm=pipelines/synth-avm.yaml</c>). Each trains the method its config
    /// names, with every seed, on the same clips as the compare's config (refused otherwise: pairing needs the same clips).
    /// </summary>
    public IReadOnlyList<CompareVariant> Variants { get; init; } = [];

    /// <summary>Test hook: called with each run's job before it runs (a test keeps a weak reference to see that no run outlives its turn).</summary>
    public Action<StreamTrainJob>? JobStarting { get; init; }

    /// <summary>Test hook: called after each trained run's memory is released, before the next run starts.</summary>
    public Action? RunReleased { get; init; }

    private StreamTrainJob Starting(StreamTrainJob job)
    {
        JobStarting?.Invoke(job);
        return job;
    }

    /// <summary>One row of the comparison: its label (the method's name for a method), the config it runs and its learner.</summary>
    public sealed record Entry(string Label, string ConfigPath, string Method, bool IsVariant);

    private List<Entry>? _plan;

    private List<Entry> Entries => _plan ??= Plan();

    private IReadOnlyList<string> Labels => Entries.Select(e => e.Label).ToList();

    /// <summary>The rows in order (the methods, then the variants), checked: learners known, labels unique, variants on the same clips.</summary>
    public List<Entry> Plan()
    {
        foreach (var method in methods)
        {
            if (!Stella.Continual.Learning.LearnerFactory.Names.Contains(method))
            {
                throw new Stella.Core.UserInputException($"unknown method '{method}': choose from {string.Join(", ", Stella.Continual.Learning.LearnerFactory.Names)}");
            }
        }

        var entries = methods.Distinct().Select(m => new Entry(m, configPath, m, false)).ToList();
        if (Variants.Count == 0)
        {
            return entries;
        }

        var main = StreamTrainConfig.Load(configPath);
        foreach (var variant in Variants)
        {
            if (!System.Text.RegularExpressions.Regex.IsMatch(variant.Label, "^[A-Za-z0-9][A-Za-z0-9._+-]*$"))
            {
                throw new Stella.Core.UserInputException($"variant '{variant.Label}': a label is letters, digits and . _ + - (it names the runs' folders)");
            }

            if (Stella.Continual.Learning.LearnerFactory.Names.Contains(variant.Label) || entries.Any(e => e.Label == variant.Label))
            {
                throw new Stella.Core.UserInputException($"variant '{variant.Label}': the label is already a method's or another variant's; choose another");
            }

            StreamTrainConfig config;
            try
            {
                config = StreamTrainConfig.Load(variant.ConfigPath);
            }
            catch (Stella.Core.UserInputException e)
            {
                throw new Stella.Core.UserInputException($"variant '{variant.Label}': {e.Message}");
            }

            if (!Stella.Continual.Learning.LearnerFactory.Names.Contains(config.Method))
            {
                throw new Stella.Core.UserInputException(
                    $"variant '{variant.Label}': {variant.ConfigPath} names method '{config.Method}': choose from {string.Join(", ", Stella.Continual.Learning.LearnerFactory.Names)}");
            }

            if (config.Resolve(config.Manifest) != main.Resolve(main.Manifest))
            {
                throw new Stella.Core.UserInputException(
                    $"variant '{variant.Label}': {variant.ConfigPath} trains on {config.Resolve(config.Manifest)}, the compare's config {configPath} on {main.Resolve(main.Manifest)}; paired differences need the same clips");
            }

            entries.Add(new Entry(variant.Label, variant.ConfigPath, config.Method, true));
        }

        return entries;
    }

    /// <summary>
    /// The memory sweep (thesis Fig. 2.6): when set, every method and seed runs once per memory size (in items) instead of the
    /// config's budget, and the job writes memory.md, memory.csv and plots/memory_size.png instead of compare.md.
    /// </summary>
    public IReadOnlyList<int> MemorySizes { get; init; } = [];

    /// <summary>
    /// The task-order study (thesis Sec. 2.12): when above 0, every method and seed runs in this many seeded permutations of the
    /// task order (each different from the manifest's and from each other), and the job writes orders.md and orders.csv instead of
    /// compare.md.
    /// </summary>
    public int TaskOrders { get; init; }

    /// <summary>
    /// Downstream tasks (<c>classify</c>, <c>segment</c>; <see cref="Downstream.DownstreamJob"/>) scored on every run once it is
    /// trained (kept in its downstream.json) and shown in compare.md's Table 2.5 section. Default: none.
    /// </summary>
    public IReadOnlyList<string> Downstream { get; init; } = [];

    /// <summary>The held-out benchmark's manifest for the <c>retrieval</c> downstream task.</summary>
    public string? HeldOut { get; init; }

    private readonly Dictionary<(string Method, int Seed), Downstream.DownstreamResults> _downstream = [];

    // One setting of the runs: its folder suffix, its title and what it changes in a method's config.
    private sealed record Setting(string Suffix, string Title, Action<StreamTrainConfig> Apply);

    /// <summary>Runs what is missing and writes compare.md, compare.csv and the plots (or a sweep's files); returns the Markdown's path.</summary>
    public async Task<string> RunAsync(CancellationToken ct)
    {
        if (methods.Count == 0 || seeds.Count == 0)
        {
            throw new Stella.Core.UserInputException("compare needs at least one method and one seed");
        }

        if (MemorySizes.Count > 0 && TaskOrders > 0)
        {
            throw new Stella.Core.UserInputException("--memory-items and --task-orders are two studies: run one at a time");
        }

        if (MemorySizes.Any(m => m < 1))
        {
            throw new Stella.Core.UserInputException($"--memory-items {string.Join(",", MemorySizes)}: each size is a number of items, at least 1");
        }

        foreach (var task in Downstream.Where(t => !Stella.Pipeline.Downstream.DownstreamJob.Names.Contains(t)))
        {
            throw new Stella.Core.UserInputException($"--downstream: unknown task '{task}': choose from {string.Join(", ", Stella.Pipeline.Downstream.DownstreamJob.Names)}");
        }

        if (Downstream.Count > 0 && (MemorySizes.Count > 0 || TaskOrders > 0))
        {
            throw new Stella.Core.UserInputException("--downstream scores the runs of compare.md; with --memory-items or --task-orders, run it as its own compare");
        }

        if (Downstream.Contains("retrieval") && HeldOut is null)
        {
            throw new Stella.Core.UserInputException("--downstream retrieval needs --heldout MANIFEST (a held-out benchmark: stella synth --class-offset)");
        }

        if (TaskOrders < 0)
        {
            throw new Stella.Core.UserInputException($"--task-orders {TaskOrders}: a number of orders, at least 1");
        }

        List<Setting> settings = MemorySizes.Count > 0
            ? [.. MemorySizes.Distinct().Order().Select(m => new Setting($"-m{m}", $"{m} memory items", c => c.MemoryItems = m))]
            : TaskOrders > 0
                ? [.. Orders(TaskCount(), TaskOrders).Select((o, k) => new Setting($"-o{k + 1}", $"order {k + 1}: tasks {string.Join(", ", o)}", c => c.TaskOrder = [.. o]))]
                : [new Setting(string.Empty, string.Empty, _ => { })];
        var results = await RunAllAsync(settings, ct).ConfigureAwait(false);
        if (MemorySizes.Count > 0)
        {
            return WriteSweep(results, settings, "memory", "Memory size (thesis Fig. 2.6)", "memory_size.png");
        }

        if (TaskOrders > 0)
        {
            return WriteSweep(results, settings, "orders", "Task orders (thesis Sec. 2.12)", null);
        }

        return Write(results.ToDictionary(r => (r.Key.Method, r.Key.Seed), r => r.Value));
    }

    private async Task<Dictionary<(string Method, string Setting, int Seed), RunResults>> RunAllAsync(List<Setting> settings, CancellationToken ct)
    {
        var entries = Entries;
        Directory.CreateDirectory(outDir);
        var results = new Dictionary<(string Method, string Setting, int Seed), RunResults>();
        var total = settings.Count * entries.Count * seeds.Count;
        var n = 0;
        foreach (var setting in settings)
        {
            foreach (var entry in entries)
            {
                foreach (var seed in seeds)
                {
                    n++;
                    var runDir = Path.Combine(outDir, "runs", $"{entry.Label}{setting.Suffix}-s{seed}");
                    var resultsPath = Path.Combine(runDir, "results.json");
                    var config = StreamTrainConfig.Load(entry.ConfigPath);
                    config.Method = entry.Method;
                    config.Seed = seed;
                    config.Init = Init ?? config.Init;
                    setting.Apply(config);
                    var what = (entry.IsVariant ? $"{entry.Label} ({entry.Method}, {entry.ConfigPath})" : entry.Method) + (setting.Title.Length > 0 ? $", {setting.Title}" : string.Empty);
                    if (!File.Exists(resultsPath))
                    {
                        var resume = File.Exists(Path.Combine(runDir, "checkpoints", "LATEST"));
                        log($"[{n}/{total}] {(resume ? "resuming" : "running")} {what}, seed {seed} -> {runDir}");
                        // An augmented config's shards keep the media of its augmentation (their own folder: the augmentation is in their hash).
                        var source = FromShards ? await ShardsFor(config, seed, ct).ConfigureAwait(false) : null;
                        // The job is a temporary, never a local: a local may be hoisted into this method's state machine (always in Debug)
                        // and kept through the release below.
                        await Starting(new StreamTrainJob(config, runDir, line => log($"  {line}")) { Source = source }).RunAsync(resume, ct).ConfigureAwait(false);
                        // The rest of this loop ran inline on the thread that finished the run, inside the run's own finished frames
                        // (an async method's completion runs its awaiter's continuation synchronously): they kept the whole run
                        // reachable (its evaluator with every evaluation clip, its learner) through the release below, which freed
                        // nothing of it (a heap dump), and after the last run past the compare's end. Yielding unwinds them first.
                        await Task.Yield();
                        // Nothing of this run is referenced any more: give its memory back before the next run starts.
                        source = null;
                        var (before, after, managed) = Stella.Core.Diagnostics.ProcessMemory.Release();
                        RunReleased?.Invoke();
                        log(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"  memory after the run: resident {before:0} MB, {after:0} MB once released (managed objects {managed:0} MB)"));
                    }
                    else
                    {
                        log($"[{n}/{total}] {entry.Label}{(setting.Title.Length > 0 ? $", {setting.Title}" : string.Empty)}, seed {seed}: finished earlier, kept");
                    }

                    var run = RunResults.Read(resultsPath);
                    if (run.ConfigHash != config.Hash())
                    {
                        // Kept, not refused: the hash also moves when a version adds a setting, and the user decides whether to delete it.
                        log($"  note: {resultsPath} was trained with config hash {run.ConfigHash}, {entry.ConfigPath} gives {config.Hash()} for {what} seed {seed}; delete the run folder to train it again with these settings");
                    }

                    results[(entry.Label, setting.Suffix, seed)] = run;
                    if (Downstream.Count > 0 && setting.Suffix.Length == 0)
                    {
                        _downstream[(entry.Label, seed)] = await DownstreamOf(config, runDir, seed, ct).ConfigureAwait(false);
                    }
                }
            }
        }

        return results;
    }

    // A run's downstream scores: kept from its downstream.json when it holds every task asked for, else measured (from the seed's
    // shards when the compare trains from them).
    private async Task<Downstream.DownstreamResults> DownstreamOf(StreamTrainConfig config, string runDir, int seed, CancellationToken ct)
    {
        var path = Path.Combine(runDir, "downstream.json");
        if (File.Exists(path) && System.Text.Json.JsonSerializer.Deserialize<Downstream.DownstreamResults>(await File.ReadAllTextAsync(path, ct).ConfigureAwait(false)) is { } kept
            && (!Downstream.Contains("classify") || kept.ClassifyAccuracy is not null) && (!Downstream.Contains("segment") || kept.SegmentMeanIoU is not null)
            && (!Downstream.Contains("retrieval") || (kept.RetrievalA2V is not null && kept.HeldOut == HeldOut)))
        {
            return kept;
        }

        // Augmented shards keep media, not the patches of one window: the probes then read the clips.
        var source = FromShards && config.Augment is not { Any: true } ? await ShardsFor(config, seed, ct).ConfigureAwait(false) : null;
        return await new Downstream.DownstreamJob(config, runDir, Downstream, line => log($"  {line}")) { Source = source, HeldOut = HeldOut }.RunAsync(ct).ConfigureAwait(false);
    }

    // The number of tasks of the compare's config (its synth section, or the tasks.json beside its manifest).
    private int TaskCount()
    {
        var config = StreamTrainConfig.Load(configPath);
        if (config.Synth is { } synth)
        {
            return synth.Tasks;
        }

        var tasks = Path.Combine(Path.GetDirectoryName(config.Resolve(config.Manifest)) ?? ".", "tasks.json");
        if (!File.Exists(tasks))
        {
            throw new Stella.Core.UserInputException($"--task-orders needs the number of tasks: {configPath} has no 'synth:' section and {tasks} does not exist");
        }

        return Stella.Core.Tasks.TaskMap.Read(tasks).Tasks.Count;
    }

    /// <summary>
    /// <paramref name="count"/> permutations of 0..tasks-1, seeded (the k-th from seed k, drawn again until it differs from the
    /// manifest's order and from the earlier ones); refused when there are not that many.
    /// </summary>
    public static List<int[]> Orders(int tasks, int count)
    {
        // tasks! - 1, saturated (20! already passes long's range; no one asks for that many orders).
        var possible = Enumerable.Range(1, tasks).Aggregate(1L, (f, k) => f > long.MaxValue / k ? long.MaxValue : f * k) - 1;
        if (count > possible)
        {
            throw new Stella.Core.UserInputException($"--task-orders {count}: {tasks} tasks have only {possible} orders besides their own");
        }

        var orders = new List<int[]>();
        for (var k = 1; orders.Count < count; k++)
        {
            var rng = new Random(k);
            var order = Enumerable.Range(0, tasks).ToArray();
            rng.Shuffle(order);
            if (!order.SequenceEqual(Enumerable.Range(0, tasks)) && !orders.Any(o => o.SequenceEqual(order)))
            {
                orders.Add(order);
            }
        }

        return orders;
    }

    private async Task<Sources.IClipSource> ShardsFor(StreamTrainConfig config, int seed, CancellationToken ct)
    {
        // A variant whose clips preprocess to other shards (another probe set, another geometry) keeps its own beside them.
        var hash = Shards.PreprocessJob.SourceHash(config);
        var main = StreamTrainConfig.Load(configPath);
        main.Seed = seed;
        var dir = Path.Combine(outDir, "shards", hash == Shards.PreprocessJob.SourceHash(main) ? $"s{seed}" : $"s{seed}-{hash}");
        var done = Path.Combine(dir, "DONE");
        if (!File.Exists(done) || File.ReadAllText(done).Trim() != hash)
        {
            log($"  preprocessing the clips of seed {seed} into {dir} (once for every method)");
            await new Shards.PreprocessJob(config, dir, 0, 1, line => log($"  {line}")).RunAsync(ct).ConfigureAwait(false);
            await File.WriteAllTextAsync(done, hash, ct).ConfigureAwait(false);
        }

        return await Shards.PatchShardSource.OpenAsync([dir], Stella.Model.Config.ModelConfig.Preset(config.Model), line => log($"  {line}"), ct).ConfigureAwait(false);
    }

    // A sweep's tables: one per setting (A and F per direction, mean ± std over seeds; marks within the setting), then for the task
    // orders the methods over all orders and seeds, for the memory sweep the plot of A against the memory size.
    private string WriteSweep(Dictionary<(string Method, string Setting, int Seed), RunResults> results, List<Setting> settings, string name, string title, string? plot)
    {
        var labels = Labels;
        var columns = new List<Column>
        {
            new("a->v avg A", r => r.A2V["avg"].A, true), new("a->v avg F", r => r.A2V["avg"].F ?? double.NaN, false),
            new("v->a avg A", r => r.V2A["avg"].A, true), new("v->a avg F", r => r.V2A["avg"].F ?? double.NaN, false),
            new("a->v R@10 A", r => r.A2V["R@10"].A, true), new("v->a R@10 A", r => r.V2A["R@10"].A, true),
        };
        var config = StreamTrainConfig.Load(configPath);
        var md = new StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"# {title}\n\nConfig `{configPath}` ({config.Model} model, {config.EpochsPerTask} pass(es) per task, batch {config.BatchSize}); seeds {string.Join(", ", seeds)}; mean ± std over seeds; **best**, <u>second</u> within each table. avg: mean of R@1, R@5, R@10.\n\n"));
        var csv = new StringBuilder($"table,method,metric,mean,std,n,{PairedColumns}\n");
        foreach (var setting in settings)
        {
            var rows = labels.Select(m => new CompareRow(m, seeds.Select(seed => results[(m, setting.Suffix, seed)]).ToList())).ToList();
            Table(md, csv, char.ToUpperInvariant(setting.Title[0]) + setting.Title[1..], name + setting.Suffix, rows, columns);
        }

        if (name == "orders")
        {
            var all = labels.Select(m => new CompareRow(m, settings.SelectMany(o => seeds.Select(seed => results[(m, o.Suffix, seed)])).ToList())).ToList();
            Table(md, csv, $"Over all {settings.Count} orders (mean ± std over orders and seeds)", name + "-all", all, columns);
        }

        if (plot is not null)
        {
            var path = Path.Combine(Directory.CreateDirectory(Path.Combine(outDir, "plots")).FullName, plot);
            double Both(RunResults r) => (r.A2V["avg"].A + r.V2A["avg"].A) / 2;
            var series = labels.ToDictionary(m => m, m =>
            {
                var rows = settings.Select(st => new CompareRow(m, seeds.Select(seed => results[(m, st.Suffix, seed)]).ToList())).ToList();
                return (rows.Select(r => r.Mean(Both)).ToArray(), rows.Select(r => r.Std(Both)).ToArray());
            });
            Plots.SweepLines(path, MemorySizes.Distinct().Order().Select(m => (double)m).ToArray(), series, title, "memory items", "A (mean of a->v and v->a avg, %)");
            md.Append(CultureInfo.InvariantCulture, $"![{title}](plots/{plot})\n");
        }

        var mdPath = Path.Combine(outDir, $"{name}.md");
        File.WriteAllText(mdPath, md.ToString());
        File.WriteAllText(Path.Combine(outDir, $"{name}.csv"), csv.ToString());
        log($"wrote {mdPath}");
        return mdPath;
    }

    private string Write(Dictionary<(string Method, int Seed), RunResults> results)
    {
        var labels = Labels;
        var rows = new List<CompareRow>();
        foreach (var method in labels)
        {
            var runs = seeds.Select(s => results[(method, s)]).ToList();
            rows.Add(new CompareRow(method, runs));
        }

        var md = new StringBuilder();
        var csv = new StringBuilder($"table,method,metric,mean,std,n,{PairedColumns}\n");
        var config = StreamTrainConfig.Load(configPath);
        md.Append(CultureInfo.InvariantCulture, $"# Method comparison\n\nConfig `{configPath}` ({config.Model} model, {config.EpochsPerTask} pass(es) per task, batch {config.BatchSize}); seeds {string.Join(", ", seeds)}; mean ± std over seeds; **best**, <u>second</u>. A: average accuracy after the last task (higher is better); F: forgetting (lower is better).\n\n");
        foreach (var variant in Entries.Where(e => e.IsVariant))
        {
            md.Append(CultureInfo.InvariantCulture, $"Variant **{variant.Label}**: {variant.Method} with config `{variant.ConfigPath}`.\n\n");
        }

        foreach (var (direction, title) in new[] { ("a2v", "audio -> video"), ("v2a", "video -> audio") })
        {
            var columns = new List<Column>();
            foreach (var k in new[] { "R@1", "R@5", "R@10", "avg" })
            {
                columns.Add(new Column($"{k} A", r => Scores(r, direction)[k].A, HigherIsBetter: true));
                columns.Add(new Column($"{k} F", r => Scores(r, direction)[k].F ?? double.NaN, HigherIsBetter: false));
            }

            Table(md, csv, $"Table 2.1: zero-shot retrieval, {title}", $"retrieval_{direction}", rows, columns);
        }

        var quality = new List<Column>
        {
            new("localization after last (%)", r => MeanOfLast(r.Localization), true),
            new("loc. by AVM (%)", r => MeanOfLast(r.LocalizationAvm), true),
            new("loc. by cosine (%)", r => MeanOfLast(r.LocalizationCosine), true),
            new("linear probe after last (%)", r => MeanOfLast(r.LinearProbe), true),
            new("modality gap after last", r => MeanOfLast([r.ModalityGapFinal]), false),
        };
        Table(md, csv, "Localization (the learner's own instrument: the AVM for STELLA learners, the token-audio cosine for the others; then both instruments for every learner), linear probe and modality gap (mean over tasks, after the last task)", "quality", rows, quality);
        var efficiency = new List<Column>
        {
            new("samples/s", r => r.Efficiency.SamplesPerSecond ?? double.NaN, true),
            new("step ms", r => r.Efficiency.StepMilliseconds ?? double.NaN, false),
            new("peak RSS (MB)", r => r.Efficiency.PeakRssMb ?? double.NaN, false),
            new("model state (MB)", r => r.Efficiency.ModelStateMb ?? double.NaN, false),
            new("memory items", r => r.Efficiency.MemoryItems ?? double.NaN, true),
            new("extra models (MB)", r => r.Efficiency.ExtraModelsMb, false),
        };
        Table(md, csv, "Table 2.2: efficiency", "efficiency", rows, efficiency);
        if (Downstream.Count > 0)
        {
            // A run's label and seed by the run itself (a variant's label is not its method).
            var byRun = results.ToDictionary(kv => (object)kv.Value, kv => kv.Key, ReferenceEqualityComparer.Instance);
            var downstream = new List<Column>();
            if (Downstream.Contains("retrieval"))
            {
                downstream.Add(new("retrieval a->v R@10 (%)", r => _downstream.TryGetValue(byRun[r], out var d) && d.RetrievalA2V is { } v ? v[2] : double.NaN, true));
                downstream.Add(new("retrieval v->a R@10 (%)", r => _downstream.TryGetValue(byRun[r], out var d) && d.RetrievalV2A is { } v ? v[2] : double.NaN, true));
            }

            if (Downstream.Contains("classify"))
            {
                downstream.Add(new("classify: MLP accuracy (%)", r => _downstream.TryGetValue(byRun[r], out var d) ? d.ClassifyAccuracy ?? double.NaN : double.NaN, true));
            }

            if (Downstream.Contains("segment"))
            {
                downstream.Add(new("segment: mIoU (%)", r => _downstream.TryGetValue(byRun[r], out var d) ? d.SegmentMeanIoU ?? double.NaN : double.NaN, true));
            }

            Table(md, csv, "Table 2.5: downstream (frozen features, retrieval clips)", "downstream", rows, downstream);
        }
        var ablation = rows.Where(r => Ablation.Contains(r.Method)).ToList();
        if (ablation.Count >= 2)
        {
            Table(md, csv, "Table 2.3: selection ablation (audio -> video)", "ablation", ablation,
                new[] { "R@1", "R@5", "R@10", "avg" }.Select(k => new Column($"{k} A", r => r.A2V[k].A, true)).ToList());
        }

        var plots = Directory.CreateDirectory(Path.Combine(outDir, "plots")).FullName;
        foreach (var (reference, i) in new[] { Reference }.Concat(References).Distinct().Select((r, i) => (r, i)))
        {
            Paired(md, csv, results, reference, Path.Combine(plots, i == 0 ? "paired.png" : $"paired-vs-{reference}.png"));
        }

        Plots.MethodBars(Path.Combine(plots, "a_f.png"), labels,
            [
                ("a->v avg A", rows.Select(r => r.Mean(x => x.A2V["avg"].A)).ToArray(), rows.Select(r => r.Std(x => x.A2V["avg"].A)).ToArray()),
                ("a->v avg F", rows.Select(r => r.Mean(x => x.A2V["avg"].F ?? double.NaN)).ToArray(), rows.Select(r => r.Std(x => x.A2V["avg"].F ?? double.NaN)).ToArray()),
                ("v->a avg A", rows.Select(r => r.Mean(x => x.V2A["avg"].A)).ToArray(), rows.Select(r => r.Std(x => x.V2A["avg"].A)).ToArray()),
                ("v->a avg F", rows.Select(r => r.Mean(x => x.V2A["avg"].F ?? double.NaN)).ToArray(), rows.Select(r => r.Std(x => x.V2A["avg"].F ?? double.NaN)).ToArray()),
            ], "average accuracy A and forgetting F (mean of R@1/5/10, +- std over seeds)");
        Plots.GapOverTasks(Path.Combine(plots, "modality_gap.png"), rows.ToDictionary(r => r.Method, r => r.SeenGap()), "modality gap over tasks (mean over seeds)");
        md.Append("![A and F](plots/a_f.png)\n\n![modality gap](plots/modality_gap.png)\n\nEach run's own report: `runs/<method or variant>-s<seed>/report.md`.\n");
        var path = Path.Combine(outDir, "compare.md");
        File.WriteAllText(path, md.ToString());
        File.WriteAllText(Path.Combine(outDir, "compare.csv"), csv.ToString());
        log($"wrote {path}");
        return path;
    }

    private static IReadOnlyDictionary<string, RecallScores> Scores(RunResults r, string direction) => direction == "a2v" ? r.A2V : r.V2A;

    private static double MeanOfLast(IReadOnlyList<double?[]>? matrix) =>
        matrix is null || matrix.Count == 0 ? double.NaN : matrix[^1].Where(v => v is { } x && double.IsFinite(x)).Select(v => v!.Value).DefaultIfEmpty(double.NaN).Average();

    private static void Table(StringBuilder md, StringBuilder csv, string title, string key, List<CompareRow> rows, List<Column> columns)
    {
        md.Append(CultureInfo.InvariantCulture, $"## {title}\n\n| method | {string.Join(" | ", columns.Select(c => c.Name))} |\n|---|{string.Concat(columns.Select(_ => "---|"))}\n");
        var means = columns.Select(c => rows.Select(r => r.Mean(c.Pick)).ToArray()).ToArray();
        var ranks = columns.Select((c, j) => Ranking.BestTwo(means[j], c.HigherIsBetter)).ToArray();
        for (var i = 0; i < rows.Count; i++)
        {
            var cells = columns.Select((c, j) =>
            {
                var mean = means[j][i];
                var std = rows[i].Std(c.Pick);
                csv.Append(CultureInfo.InvariantCulture, $"{key},{rows[i].Method},{c.Name},{mean:0.###},{std:0.###},{rows[i].Runs.Count}{EmptyPaired}\n");
                if (!double.IsFinite(mean))
                {
                    return "n/a";
                }

                var text = rows[i].Runs.Count > 1 ? string.Create(CultureInfo.InvariantCulture, $"{mean:0.0} ± {std:0.0}") : mean.ToString("0.0", CultureInfo.InvariantCulture);
                return ranks[j].Best == i ? $"**{text}**" : ranks[j].Second == i ? $"<u>{text}</u>" : text;
            });
            md.Append(CultureInfo.InvariantCulture, $"| {rows[i].Method} | {string.Join(" | ", cells)} |\n");
        }

        md.Append('\n');
    }

    private const string PairedColumns = "mean_diff,lo_seed,hi_seed,lo_boot,hi_boot,wins,verdict,reference";

    // The table rows leave the paired columns empty: one header for the whole file, so CSV readers take it as one table.
    private static readonly string EmptyPaired = new(',', PairedColumns.Count(c => c == ',') + 1);

    private void Paired(StringBuilder md, StringBuilder csv, Dictionary<(string Method, int Seed), RunResults> results, string reference, string plot)
    {
        var labels = Labels;
        md.Append(CultureInfo.InvariantCulture, $"## Paired against {reference}\n\n");
        if (!labels.Contains(reference))
        {
            md.Append(CultureInfo.InvariantCulture, $"Skipped: the reference '{reference}' is not among the methods compared ({string.Join(", ", labels)}); choose one with --reference.\n\n");
            return;
        }

        var others = labels.Where(m => m != reference).ToList();
        if (others.Count == 0)
        {
            md.Append("Skipped: no method other than the reference.\n\n");
            return;
        }

        md.Append(CultureInfo.InvariantCulture, $"""
            Each method minus {reference}, seed by seed, in percentage points: every method of a seed trains on the same clips, in the same order, from the same initial weights, so the per-seed difference is paired. A: higher is better; F: lower is better.

            **mean diff**: mean over seeds of the per-seed differences. **95% over seeds (t)**: Student-t interval on the per-seed differences (n - 1 degrees of freedom; none for one seed). **95% bootstrap over clips**: each seed's retrieval queries are resampled with replacement within each task (the same clips for the method and the reference, and for every evaluation), A and F recomputed from the runs' per-query ranks, the per-seed differences averaged over seeds; {PairedStatistics.Resamples} resamples from a fixed seed, 2.5% and 97.5% percentiles; n/a where a run has no ranks (a results.json of an older version) or the two runs did not query the same clips. **wins**: seeds on which the method is strictly better. **verdict** at 95%: better (worse) when every available interval excludes 0 on the better (worse) side, i.e. both when both exist and the one that exists otherwise; else not separable. The interval over seeds measures what changes from seed to seed (clip order, initial weights, the learner's own randomness), the bootstrap only the finite set of retrieval clips; requiring both keeps a difference that one of them alone would call real but the other not from being reported as one.


            """);
        var rows = others.SelectMany(m => PairedStatistics.Compare(m, seeds.Select(s => (s, results[(m, s)], results[(reference, s)])).ToList())).ToList();
        string Diff(double v) => v.ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture);
        string Number(double? v) => v is { } x ? x.ToString("0.###", CultureInfo.InvariantCulture) : string.Empty;
        foreach (var (direction, title) in new[] { ("a2v", "audio -> video"), ("v2a", "video -> audio") })
        {
            md.Append(CultureInfo.InvariantCulture, $"### {title}\n\n| method | metric | mean diff | 95% over seeds (t) | 95% bootstrap over clips | wins | verdict |\n|---|---|---|---|---|---|---|\n");
            foreach (var row in rows.Where(r => r.Metric.StartsWith(direction + " ", StringComparison.Ordinal)))
            {
                var metric = row.Metric[(direction.Length + 1)..];
                if (row.N == 0)
                {
                    md.Append(CultureInfo.InvariantCulture, $"| {row.Method} | {metric} | n/a | n/a | n/a | n/a | n/a |\n");
                    continue;
                }

                var seedsCell = row.OverSeeds is { } t ? $"[{Diff(t.Lo)}, {Diff(t.Hi)}]" : $"n/a ({row.N} seed)";
                var bootCell = row.Bootstrap is { } b ? $"[{Diff(b.Lo)}, {Diff(b.Hi)}]" : "n/a";
                var verdict = row.Verdict == "not separable" ? row.Verdict : $"**{row.Verdict}**";
                md.Append(CultureInfo.InvariantCulture, $"| {row.Method} | {metric} | {Diff(row.MeanDiff)} | {seedsCell} | {bootCell} | {row.Wins}/{row.N} | {verdict} |\n");
            }

            md.Append('\n');
        }

        foreach (var row in rows)
        {
            var mean = double.IsFinite(row.MeanDiff) ? (double?)row.MeanDiff : null;
            csv.Append(CultureInfo.InvariantCulture,
                $"paired,{row.Method},{row.Metric},,,{row.N},{Number(mean)},{Number(row.OverSeeds?.Lo)},{Number(row.OverSeeds?.Hi)},{Number(row.Bootstrap?.Lo)},{Number(row.Bootstrap?.Hi)},{row.Wins},{row.Verdict},{reference}\n");
        }

        (double, double) Bounds(Interval? i) => i is { } x ? (x.Lo, x.Hi) : (double.NaN, double.NaN);
        Plots.PairedDifferences(plot, others,
            new[] { "a2v avg A", "a2v avg F", "v2a avg A", "v2a avg F" }.Select(name =>
            {
                var of = others.Select(m => rows.Single(r => r.Method == m && r.Metric == name)).ToList();
                return (name.Replace("2", "->", StringComparison.Ordinal), of.Select(r => r.MeanDiff).ToArray(), of.Select(r => Bounds(r.OverSeeds)).ToArray(), of.Select(r => Bounds(r.Bootstrap)).ToArray());
            }).ToList(),
            $"method - {reference}: avg A and avg F with 95% intervals");
        md.Append(CultureInfo.InvariantCulture, $"![paired differences against {reference}](plots/{Path.GetFileName(plot)})\n\n");
    }

    private sealed record Column(string Name, Func<RunResults, double> Pick, bool HigherIsBetter);

    private sealed record CompareRow(string Method, List<RunResults> Runs)
    {
        public double Mean(Func<RunResults, double> pick) => Runs.Select(pick).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();

        public double Std(Func<RunResults, double> pick)
        {
            var values = Runs.Select(pick).Where(double.IsFinite).ToList();
            if (values.Count < 2)
            {
                return 0;
            }

            var mean = values.Average();
            return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
        }

        public double[] SeenGap()
        {
            var perRun = Runs.Select(r => r.ModalityGapSeen.Select(g => g ?? double.NaN).ToArray()).ToList();
            var length = perRun.Min(p => p.Length);
            return Enumerable.Range(0, length).Select(t => perRun.Average(p => p[t])).ToArray();
        }
    }
}

/// <summary>A labelled run of another config in a comparison (<c>--variant LABEL=CONFIG</c>).</summary>
public sealed record CompareVariant(string Label, string ConfigPath)
{
    /// <summary>Parses <c>LABEL=CONFIG</c>.</summary>
    public static CompareVariant Parse(string text)
    {
        var at = text.IndexOf('=', StringComparison.Ordinal);
        if (at <= 0 || at == text.Length - 1)
        {
            throw new Stella.Core.UserInputException($"--variant '{text}': write LABEL=CONFIG, e.g. stella-avm=pipelines/synth-avm.yaml");
        }

        return new CompareVariant(text[..at].Trim(), text[(at + 1)..].Trim());
    }
}
