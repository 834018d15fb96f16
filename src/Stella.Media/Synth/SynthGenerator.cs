using System.Text.Json;
using Stella.Core.Manifests;
using Stella.Core.Tasks;
using Stella.Media.Ffmpeg;

namespace Stella.Media.Synth;

/// <summary>
/// Generates the "sounding objects" benchmark: MP4 clips, <c>manifest.csv</c>, <c>tasks.json</c>,
/// <c>ground_truth.jsonl</c> and <c>synth.json</c> (the options). Deterministic for a seed.
/// </summary>
public sealed class SynthGenerator
{
    private readonly SynthOptions _options;
    private readonly SynthRenderer _renderer;

    /// <summary>Creates a generator; throws <see cref="ArgumentException"/> for out-of-range options.</summary>
    public SynthGenerator(SynthOptions options)
    {
        options.Validate();
        _options = options;
        _renderer = new SynthRenderer(options);
    }

    /// <summary>
    /// Every clip of the dataset, in manifest order: the warm-up (<c>base</c>) clips first, shuffled, then the tasks in order,
    /// shuffled within a task. Each clip depends on the seed, its class, split and number only.
    /// </summary>
    public IReadOnlyList<SynthClipPlan> Plan()
    {
        var o = _options;
        var plans = new List<SynthClipPlan>();
        var warmup = new List<SynthClipPlan>();
        for (var j = 0; j < o.BaseClasses; j++)
        {
            var cls = SynthCatalog.BaseClass(j);
            for (var i = 0; i < o.BasePerClass; i++)
            {
                warmup.Add(PlanClip(cls, -1, "base", i));
            }
        }

        var warmupShuffle = new Random(Mix(o.Seed, -1, 7, 0));
        plans.AddRange(warmup.OrderBy(_ => warmupShuffle.Next()));
        for (var task = 0; task < o.Tasks; task++)
        {
            var taskPlans = new List<SynthClipPlan>();
            for (var c = 0; c < o.ClassesPerTask; c++)
            {
                var cls = SynthCatalog.Class(o.ClassOffset + (task * o.ClassesPerTask) + c);
                for (var i = 0; i < o.TrainPerClass; i++)
                {
                    taskPlans.Add(PlanClip(cls, task, "train", i));
                }

                for (var i = 0; i < o.EvalPerClass; i++)
                {
                    taskPlans.Add(PlanClip(cls, task, "retrieval", i));
                }
            }

            var shuffle = new Random(Mix(o.Seed, task, 7, 0));
            plans.AddRange(taskPlans.OrderBy(_ => shuffle.Next()));
        }

        return plans;
    }

    /// <summary>Writes the whole dataset under <paramref name="outDir"/>; reports each finished clip.</summary>
    public async Task<SynthSummary> GenerateAsync(string outDir, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        FfmpegTools.EnsureAvailable();
        var started = System.Diagnostics.Stopwatch.StartNew();
        Directory.CreateDirectory(Path.Combine(outDir, "clips"));
        var plans = Plan();
        var done = 0;
        var truths = new SynthGroundTruth[plans.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, plans.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.Parallelism), CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var plan = plans[i];
                var frames = Enumerable.Range(0, _renderer.FrameCount).Select(f => _renderer.RenderFrame(plan, f)).ToList();
                var audio = _renderer.RenderAudio(plan);
                await Mp4Encoder.EncodeAsync(
                    Path.Combine(outDir, ClipPath(plan)), frames, _options.FrameSize, _options.FrameSize, _options.Fps, audio, _options.SampleRate, ct)
                    .ConfigureAwait(false);
                truths[i] = GroundTruth(plan);
                progress?.Report(Interlocked.Increment(ref done));
            }).ConfigureAwait(false);

        WriteManifest(Path.Combine(outDir, "manifest.csv"), plans);
        WriteTasks(Path.Combine(outDir, "tasks.json"));
        await File.WriteAllLinesAsync(
            Path.Combine(outDir, "ground_truth.jsonl"), truths.Select(t => JsonSerializer.Serialize(t)), cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(
            Path.Combine(outDir, "synth.json"), JsonSerializer.Serialize(_options, new JsonSerializerOptions { WriteIndented = true }), cancellationToken)
            .ConfigureAwait(false);
        return new SynthSummary(plans.Count, plans.Count(p => p.Split == "train"), _options.Tasks * _options.ClassesPerTask, started.Elapsed)
        {
            BaseClips = plans.Count(p => p.Split == "base"),
        };
    }

    /// <summary>Ground truth of a planned clip.</summary>
    public SynthGroundTruth GroundTruth(SynthClipPlan plan) => new()
    {
        ClipId = plan.ClipId,
        Label = plan.Class.Label,
        ClassIndex = plan.Class.Index,
        Task = plan.Task,
        SourceObject = 0,
        Objects = plan.Objects.Select(o => SynthCatalog.Objects[o.Type].Name).ToList(),
        Fps = _options.Fps,
        FrameSize = _options.FrameSize,
        SourceBoxes = Enumerable.Range(0, _renderer.FrameCount).Select(f => _renderer.SourceBox(plan, f)).ToList(),
        Sounding = plan.Sounding.Select(s => new[] { Math.Round(s.Start, 4), Math.Round(s.End, 4) }).ToList(),
    };

    /// <summary>The renderer, for callers that need frames or audio without encoding.</summary>
    public SynthRenderer Renderer => _renderer;

    private static string ClipPath(SynthClipPlan plan) => $"clips/{plan.ClipId}.mp4";

    private SynthClipPlan PlanClip(SynthClass cls, int task, string split, int i)
    {
        var o = _options;
        var seed = Mix(o.Seed, cls.Index, split switch { "train" => 1, "retrieval" => 2, _ => 3 }, i);
        var rng = new Random(seed);
        var types = new List<int> { cls.ObjectType };
        var others = Enumerable.Range(0, SynthCatalog.Objects.Count).Where(t => t != cls.ObjectType).OrderBy(_ => rng.Next()).ToList();
        types.AddRange(others.Take(o.ObjectsPerClip - 1));
        var unit = o.FrameSize / 128.0;
        var objects = types.Select(t => new SynthObject(
            t,
            X: rng.NextDouble() * o.FrameSize,
            Y: rng.NextDouble() * o.FrameSize,
            Vx: (rng.NextDouble() - 0.5) * 24 * unit,
            Vy: (rng.NextDouble() - 0.5) * 24 * unit,
            Radius: (11 + (rng.NextDouble() * 4)) * unit)).ToList();

        // Bursts cover about half the clip; one always overlaps the centred 4 s evaluation window.
        var sounding = new List<(double, double)>();
        var t0 = rng.NextDouble() * 0.8;
        while (t0 < o.Seconds - 0.3)
        {
            var end = Math.Min(o.Seconds, t0 + 0.6 + rng.NextDouble());
            sounding.Add((t0, end));
            t0 = end + 0.3 + (rng.NextDouble() * 0.9);
        }

        var evalStart = (o.Seconds - 4) / 2;
        if (!sounding.Any(s => s.Item2 > evalStart + 0.5 && s.Item1 < evalStart + 3.5))
        {
            sounding.Add((evalStart + 1, evalStart + 2));
            sounding.Sort();
        }

        var id = task < 0 ? $"base_c{cls.Index:D2}_{i:D3}" : $"t{task}_c{cls.Index:D2}_{split}_{i:D3}";
        return new SynthClipPlan(id, cls, task, split, seed, objects, sounding);
    }

    private static void WriteManifest(string path, IReadOnlyList<SynthClipPlan> plans) =>
        StellaManifestWriter.Write(path, plans.Select(p => new ClipRecord(
            p.ClipId, ClipPath(p), p.Class.Label, p.Task, p.Split switch { "train" => ClipSplit.Train, "base" => ClipSplit.Base, _ => ClipSplit.Retrieval })));

    private void WriteTasks(string path)
    {
        var tasks = Enumerable.Range(0, _options.Tasks).Select(t => new TaskDefinition(
            $"task{t}",
            Enumerable.Range(0, _options.ClassesPerTask).Select(c => SynthCatalog.Class(_options.ClassOffset + (t * _options.ClassesPerTask) + c).Label).ToList()));
        TaskMap.Write(path, "synth", tasks.ToList());
    }

    // SplitMix64 finaliser over the parts: stable across processes and .NET versions (unlike HashCode).
    private static int Mix(params int[] parts)
    {
        ulong h = 0x9E3779B97F4A7C15;
        foreach (var p in parts)
        {
            h ^= (ulong)(uint)p + 0x9E3779B97F4A7C15 + (h << 6) + (h >> 2);
            h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9;
            h = (h ^ (h >> 27)) * 0x94D049BB133111EB;
            h ^= h >> 31;
        }

        return (int)(h & 0x7FFFFFFF);
    }
}
