using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Stella.Continual.Learning;
using Stella.Core.Diagnostics;
using Stella.Model;
using Stella.Model.Config;
using TorchSharp;

namespace Stella.Bench;

/// <summary>
/// Thesis Table 2.2 on the production learners (issue 16): each learner (finetune, er, der++, lump, mir, stella, stella-plus, and
/// stella-plus at 1.66x the batch, the thesis' STELLA++) in its own process, the same batch, its rehearsal memory filled first so
/// that every measured step replays, then a set number of whole <see cref="Learner.Step"/> calls (scoring, selection, training,
/// memory: what stream-train's stages run). Per method: samples/s (current clips a second, as the thesis counts), peak RSS, the
/// model state (weights, gradients, Adam moments) and the peak step memory = peak RSS - RSS before the first measured step; each
/// as a ratio to DER++, with Table 2.2 beside it. Writes runs/bench/efficiency.json. Prints figures; asserts nothing.
/// </summary>
internal static class EfficiencyBench
{
    /// <summary>The methods in the thesis' order; "stella++" is stella-plus at <see cref="PlusPlusFactor"/> x the batch.</summary>
    public static readonly string[] Methods = ["finetune", "er", "der++", "lump", "mir", "stella", "stella-plus", "stella++"];

    /// <summary>Where the figures go (other tools read them).</summary>
    public const string DefaultOutput = "runs/bench/efficiency.json";

    /// <summary>STELLA++'s batch over the others' (thesis: 15 against 9).</summary>
    public const double PlusPlusFactor = 15.0 / 9;

    // Thesis Table 2.2 (one V100, batch 9; 15 for STELLA++): GPU memory (GB) and throughput (samples/s; none given for STELLA++).
    private static readonly Dictionary<string, (double Gb, double Throughput)> Thesis = new()
    {
        ["finetune"] = (18.34, 29.46), ["er"] = (30.95, 17.70), ["mir"] = (31.17, 5.73), ["der++"] = (30.95, 17.79),
        ["lump"] = (18.36, 26.67), ["stella"] = (17.45, 17.29), ["stella-plus"] = (17.15, 18.11), ["stella++"] = (24.69, double.NaN),
    };

    /// <summary>
    /// Runs the grid: <paramref name="presets"/> (default tiny then base) x <paramref name="methods"/> (default all); tiny at batch 9
    /// as the thesis (30 measured steps), base at batch 3 (2 steps: a base step takes 10-20 s on this CPU).
    /// </summary>
    public static int RunAll(IReadOnlyList<string>? presets, IReadOnlyList<string>? methods, string output)
    {
        Stella.Model.Runtime.TorchRuntime.Initialize();
        Console.WriteLine($"efficiency benchmark (thesis Table 2.2 on the production learners): CPU, {Environment.ProcessorCount} cores, torch threads {torch.get_num_threads()}, each method in its own process, memory full before the measured steps");
        var json = File.Exists(output) ? JsonNode.Parse(File.ReadAllText(output)) as JsonObject ?? [] : [];
        foreach (var preset in presets ?? ["tiny", "base"])
        {
            var (batch, steps) = preset == "base" ? (3, 2) : (9, 30);
            var rows = new Dictionary<string, Figures>();
            foreach (var method in methods ?? Methods)
            {
                var b = method == "stella++" ? (int)Math.Round(batch * PlusPlusFactor) : batch;
                var figures = Child(preset, method, b, steps);
                if (figures is not null)
                {
                    rows[method] = figures;
                }
            }

            Print(preset, batch, steps, rows);
            var node = json[preset] as JsonObject ?? [];
            foreach (var (method, f) in rows)
            {
                node[method] = new JsonObject
                {
                    ["samples_per_s"] = Math.Round(f.SamplesPerSecond, 3), ["peak_rss_mb"] = Math.Round(f.PeakRssMb, 1),
                    ["model_state_mb"] = Math.Round(f.ModelStateMb, 1), ["peak_step_mb"] = Math.Round(f.PeakStepMb, 1),
                    ["live_step_mb"] = Math.Round(f.LiveStepMb, 1),
                    ["batch"] = f.Batch, ["steps"] = steps, ["memory_items"] = f.MemoryItems, ["memory_mb"] = Math.Round(f.MemoryMb, 1),
                    ["stage_step_mb"] = new JsonObject(f.StageStepMb.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Math.Round(kv.Value, 1)))),
                };
            }

            json[preset] = node;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, json.ToJsonString(new JsonSerializerOptions(Json) { WriteIndented = true }));
        Console.WriteLine($"written: {output}");
        return 0;
    }

    /// <summary>One method in this process: prints one JSON line of its figures.</summary>
    public static int RunOne(string preset, string method, int batch, int steps)
    {
        Stella.Model.Runtime.TorchRuntime.Initialize();
        var config = ModelConfig.Preset(preset);
        var name = method == "stella++" ? "stella-plus" : method;
        // Memory of B items, so each step replays B; MIR's B x search-factor, so that it searches as many candidates as it is meant to.
        var options = new LearnerOptions { Seed = 1 };
        options = options with { MemoryItems = name == "mir" ? options.MirSearchFactor * batch : batch };
        using var learner = LearnerFactory.Create(name, new ModelTrainer(config, new StellaOptions { Seed = 1 }), options);

        // A few distinct batches of random patches, reused in turn (their content does not change the cost of a step).
        using var generator = new torch.Generator(7);
        var batches = Enumerable.Range(0, 3).Select(i => new StreamBatch(
            torch.randn([batch, config.AudioTokens, config.AudioPatchDim], generator: generator),
            torch.randn([batch, config.VideoTokens, config.VideoPatchDim], generator: generator),
            Enumerable.Range(0, batch).Select(j => $"clip-{i}-{j}").ToList(), Enumerable.Repeat(0, batch).ToList())).ToList();
        var next = 0;
        StreamBatch Next() => batches[next++ % batches.Count];

        // Fill the memory (the reservoir stores every offer until it is full), then one more step so that every measured step replays
        // from a full memory and every optimizer state exists.
        var warm = 0;
        while (warm < 2 || (learner.Memory is { } m && m.Count < m.Capacity))
        {
            learner.Step(Next());
            warm++;
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        TrimHeap();
        var before = ProcessMemory.StatusMb("VmRSS") ?? double.NaN;
        if (ProcessMemory.ResetPeak() is { } why)
        {
            Console.Error.WriteLine($"the peak RSS cannot be reset ({why}): the peak figures include the warm-up");
        }

        // One untimed step first: the trimmed heap faults back in there, not in the timed steps (its peak counts).
        learner.Step(Next());
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < steps; i++)
        {
            learner.Step(Next());
        }

        var seconds = watch.Elapsed.TotalSeconds;
        var peak = ProcessMemory.StatusMb("VmHWM") ?? double.NaN;

        // Where the memory goes: the same steps again with glibc's mmap threshold fixed at 64 KiB (a large block that cannot come from
        // the free bins gets its own mapping, unmapped when freed) and the heap trimmed at each stage boundary (freed pages go back to
        // the kernel), so that the RSS follows the bytes in use more closely than in the timed pass: the peak of touched pages per
        // stage, an upper bound on the live bytes. The peak is reset at each stage and read at its end. Not timed.
        SetMmapThreshold(64 << 10);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        TrimHeap();
        var liveBefore = ProcessMemory.StatusMb("VmRSS") ?? double.NaN;
        var stages = new Dictionary<string, double>();
        string? current = null;
        void Stage(string next)
        {
            if (current is not null)
            {
                var stagePeak = (ProcessMemory.StatusMb("VmHWM") ?? double.NaN) - liveBefore;
                stages[current] = Math.Max(stages.GetValueOrDefault(current, double.MinValue), stagePeak);
            }

            current = next == "end" ? null : next;
            TrimHeap();
            if (ProcessMemory.ResetPeak() is not null)
            {
                stages.Clear(); // cannot attribute: every stage would read the same running maximum
                current = null;
            }
        }

        for (var i = 0; i < steps; i++)
        {
            learner.Step(Next(), Stage);
        }

        var memoryMb = (learner.Memory?.Count ?? 0) * (double)learner.ItemBytes / (1 << 20);
        var figures = new Figures(
            batch * steps / seconds, peak, ModelStateMb(learner.Trainer), peak - before, stages.Count > 0 ? stages.Values.Max() : double.NaN, batch, learner.Memory?.Count ?? 0,
            memoryMb, stages);
        Console.WriteLine(JsonSerializer.Serialize(figures, Json));
        foreach (var b in batches)
        {
            b.Audio.Dispose();
            b.Video.Dispose();
        }

        return 0;
    }

    /// <summary>
    /// Weights of the backbone and the AVM, Adam's two moments of every parameter (TorchSharp's Adam makes them for all parameters when
    /// it is built, both optimizers for every learner), and the gradient of every parameter that has one after the warm-up steps:
    /// what a GPU would hold besides the activations. Every learner carries an AVM, trained or not (about 2% of the model).
    /// </summary>
    private static double ModelStateMb(ModelTrainer trainer)
    {
        using var scope = torch.NewDisposeScope(); // the grad accessor makes a handle each call
        long bytes = 0;
        foreach (var p in trainer.Backbone.parameters().Concat(trainer.Avm.parameters()))
        {
            var size = p.numel() * p.element_size();
            bytes += 3 * size;
            if (p.grad is not null)
            {
                bytes += size;
            }
        }

        return bytes / (double)(1 << 20);
    }

    // NaN (a figure that could not be read) is written as "NaN", not refused.
    private static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    private static void Print(string preset, int batch, int steps, Dictionary<string, Figures> rows)
    {
        Console.WriteLine();
        Console.WriteLine($"preset {preset}: batch {batch} ({(int)Math.Round(batch * PlusPlusFactor)} for stella++), {steps} measured steps a method");
        Console.WriteLine($"{"method",-12} {"samples/s",10} {"peak RSS MB",12} {"state MB",9} {"step MB",9} {"live MB",9} {"memory",14} | {"x DER++: T.P.",13} {"step",6} {"live",6} {"RSS",6} | thesis: {"GPU GB",6} {"x DER++",7} {"T.P.",6} {"x DER++",7}");
        rows.TryGetValue("der++", out var der);
        foreach (var (method, f) in rows)
        {
            var (gb, tp) = Thesis[method];
            var stages = string.Join(", ", f.StageStepMb.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:0}")));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{method,-12} {f.SamplesPerSecond,10:0.000} {f.PeakRssMb,12:0} {f.ModelStateMb,9:0} {f.PeakStepMb,9:0} {f.LiveStepMb,9:0} {$"{f.MemoryItems} it {f.MemoryMb:0} MB",14} | " +
                $"{Ratio(f.SamplesPerSecond, der?.SamplesPerSecond),13} {Ratio(f.PeakStepMb, der?.PeakStepMb),6} {Ratio(f.LiveStepMb, der?.LiveStepMb),6} {Ratio(f.PeakRssMb, der?.PeakRssMb),6} | " +
                $"        {gb,6:0.00} {gb / Thesis["der++"].Gb,7:0.00} {tp,6:0.00} {tp / Thesis["der++"].Throughput,7:0.00} | live MB by stage: {stages}"));
        }
    }

    private static string Ratio(double value, double? reference) =>
        reference is { } r && r > 0 ? (value / r).ToString("0.00", CultureInfo.InvariantCulture) : "-";

    private static Figures? Child(string preset, string method, int batch, int steps)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { typeof(EfficiencyBench).Assembly.Location, "efficiency-one", preset, method, batch.ToString(CultureInfo.InvariantCulture), steps.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(a);
        }

        using var p = Process.Start(start)!;
        var error = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var last = output.Trim().Split('\n').LastOrDefault();
        if (p.ExitCode != 0 || last is null || !last.StartsWith('{'))
        {
            Console.WriteLine($"{preset} {method}: failed (exit {p.ExitCode}): {error.Result.Trim().Split('\n').FirstOrDefault()}");
            return null;
        }

        return JsonSerializer.Deserialize<Figures>(last, Json);
    }

    // Returns the heap's free pages to the kernel, so that the RSS before the measured steps holds what is live, not what the warm-up
    // freed (glibc keeps freed arena memory; libtorch's CPU tensors come from malloc). Nothing in .NET does this, hence the P/Invoke.
    private static void TrimHeap()
    {
        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: the RSS before includes freed pages, which makes the step figure an underestimate.
        }
    }

    // glibc's M_MMAP_THRESHOLD: allocations of at least this many bytes get their own mapping, returned to the kernel when freed.
    private static void SetMmapThreshold(int bytes)
    {
        try
        {
            _ = MallOpt(-3, bytes);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc: the live figures include what the allocator keeps.
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallOpt(int parameter, int value);

    /// <summary>One method's figures (the child prints them as JSON).</summary>
    public sealed record Figures(
        double SamplesPerSecond, double PeakRssMb, double ModelStateMb, double PeakStepMb, double LiveStepMb, int Batch, int MemoryItems, double MemoryMb,
        Dictionary<string, double> StageStepMb);
}
