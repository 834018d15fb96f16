using System.Security.Cryptography;
using System.Text.Json;
using Stella.Core.Manifests;
using Stella.Media.Decode;
using Stella.Media.Synth;

namespace Stella.Media.Tests;

public sealed class SynthGeneratorTests
{
    private static readonly SynthOptions Tiny = new()
    {
        Tasks = 3, ClassesPerTask = 3, TrainPerClass = 1, EvalPerClass = 1, BaseClasses = 2, BasePerClass = 1, Seconds = 4, Seed = 11, FrameSize = 64, Parallelism = 2,
    };

    private static Dictionary<string, string> Hashes(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    [Fact]
    public async Task GenerateAsync_SameSeed_SameBytes_OtherSeed_OtherClips()
    {
        var a = TestMedia.TempDir();
        var b = TestMedia.TempDir();
        var c = TestMedia.TempDir();
        await new SynthGenerator(Tiny).GenerateAsync(a);
        await new SynthGenerator(Tiny with { Parallelism = 1 }).GenerateAsync(b);
        await new SynthGenerator(Tiny with { Seed = 12 }).GenerateAsync(c);

        var ha = Hashes(a);
        var hb = Hashes(b);
        Assert.Equal(18 + 2 + 4, ha.Count);
        Assert.Equal(ha, hb);
        var hc = Hashes(c);
        Assert.NotEqual(ha["clips/t0_c00_train_000.mp4"], hc["clips/t0_c00_train_000.mp4"]);
    }

    [Fact]
    public async Task GenerateAsync_WritesReadableManifest_AndGroundTruthThatMatchesThePixels()
    {
        var dir = TestMedia.TempDir();
        var summary = await new SynthGenerator(Tiny).GenerateAsync(dir);
        Assert.Equal(18 + 2, summary.Clips);

        var manifest = StellaManifestReader.Read(Path.Combine(dir, "manifest.csv"));
        Assert.Equal(3, manifest.Tasks.Tasks.Count);
        Assert.Equal(new[] { -1, -1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2 }, manifest.Clips.Select(x => x.Task));
        Assert.Equal(9, manifest.Split(ClipSplit.Retrieval).Count());

        var truths = File.ReadAllLines(Path.Combine(dir, "ground_truth.jsonl")).Select(l => JsonSerializer.Deserialize<SynthGroundTruth>(l)!).ToList();
        Assert.Equal(manifest.Clips.Select(x => x.ClipId).Order(), truths.Select(t => t.ClipId).Order());

        // Decoded pixels at the centre of the source box have the source's colour (through H.264).
        var decoder = new ClipDecoder(new DecodeOptions { FrameSize = 64 });
        foreach (var truth in truths.Take(4))
        {
            Assert.Equal(32, truth.SourceBoxes.Count);
            Assert.NotEmpty(truth.Sounding);
            var clip = await decoder.DecodeAsync(Path.Combine(dir, "clips", truth.ClipId + ".mp4"), FrameWindow.Eval);
            var frameIndex = (int)Math.Round(clip.VideoStart * 8);
            var box = truth.SourceBoxes[frameIndex];
            var (cx, cy) = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2);
            var colour = SynthCatalog.Objects.First(o => o.Name == truth.Objects[0]);
            var i = ((cy * 64) + cx) * 3;
            var shapeIsHollow = truth.Objects[0] is "ring" or "triangle";
            if (!shapeIsHollow)
            {
                Assert.InRange(Math.Abs(clip.Frames![i] - colour.R) + Math.Abs(clip.Frames[i + 1] - colour.G) + Math.Abs(clip.Frames[i + 2] - colour.B), 0, 90);
            }
        }
    }

    [Fact]
    public void Plan_LaterTasksReuseObjectTypesWithOtherSounds()
    {
        var plans = new SynthGenerator(new SynthOptions { Tasks = 4, ClassesPerTask = 3 }).Plan();
        var classes = plans.Where(p => p.Task >= 0).Select(p => p.Class).DistinctBy(c => c.Index).ToList();
        Assert.Equal(12, classes.Count);
        var reused = classes.GroupBy(c => c.ObjectType).Where(g => g.Count() > 1).ToList();
        Assert.NotEmpty(reused);
        Assert.All(reused, g => Assert.Equal(g.Count(), g.Select(c => (c.SoundFamily, c.Register)).Distinct().Count()));
        Assert.Contains(reused, g => g.Select(c => c.Index / 3).Distinct().Count() > 1);
    }

    [Fact]
    public void Renderer_SourceActsOnlyWhileSounding_DistractorsNever()
    {
        var options = new SynthOptions { FrameSize = 64 };
        var plan = new SynthGenerator(options).Plan().First(p => p.Task == 0);
        var renderer = new SynthRenderer(options);
        for (var f = 0; f < renderer.FrameCount; f++)
        {
            var t = f / 8.0;
            Assert.Equal(SynthRenderer.IsSounding(plan, t), SynthRenderer.Scale(plan, 0, t) > 1);
            Assert.Equal(1.0, SynthRenderer.Scale(plan, 1, t));
        }

        var audio = renderer.RenderAudio(plan);
        double Rms(double s, double e) => Math.Sqrt(audio.Skip((int)(s * 16000)).Take((int)((e - s) * 16000)).Average(v => (double)v * v));
        var (start, end) = plan.Sounding[0];
        Assert.True(Rms(start + 0.05, end - 0.05) > 5 * Rms(end + 0.02, end + 0.25), "the source must be louder than the background");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void Plan_WarmupSplit_IsDeterministicAndDisjointFromEveryTask(int seed)
    {
        var options = new SynthOptions { Seed = seed };
        var plans = new SynthGenerator(options).Plan();
        var warmup = plans.Where(p => p.Split == "base").ToList();
        Assert.Equal(options.BaseClasses * options.BasePerClass, warmup.Count);
        Assert.All(warmup, p => Assert.Equal(-1, p.Task));

        // Disjoint: no warm-up class is a task class, and no warm-up sound is any task class's sound; object types recur.
        var taskClasses = plans.Where(p => p.Task >= 0).Select(p => p.Class).DistinctBy(c => c.Index).ToList();
        var warmupClasses = warmup.Select(p => p.Class).DistinctBy(c => c.Index).ToList();
        Assert.Equal(options.BaseClasses, warmupClasses.Count);
        Assert.Empty(warmupClasses.Select(c => c.Label).Intersect(taskClasses.Select(c => c.Label)));
        Assert.Empty(warmupClasses.Select(c => (c.SoundFamily, c.Register)).Intersect(taskClasses.Select(c => (c.SoundFamily, c.Register))));
        Assert.All(warmupClasses, c => Assert.Contains(taskClasses, t => t.ObjectType == c.ObjectType));

        // Deterministic per seed, and a task's clips do not depend on whether a warm-up split is rendered.
        Assert.Equal(plans.Select(p => (p.ClipId, p.Seed)), new SynthGenerator(options).Plan().Select(p => (p.ClipId, p.Seed)));
        var without = new SynthGenerator(options with { BaseClasses = 0 }).Plan();
        Assert.Equal(plans.Where(p => p.Task >= 0).Select(p => (p.ClipId, p.Seed)), without.Select(p => (p.ClipId, p.Seed)));
        Assert.NotEqual(warmup.Select(p => p.Seed), new SynthGenerator(options with { Seed = seed + 1 }).Plan().Where(p => p.Split == "base").Select(p => p.Seed));
    }

    [Fact]
    public async Task Generate_WritesWarmupRowsThatTheManifestReads()
    {
        var dir = Path.Combine(Path.GetTempPath(), "stella-synth-warmup-" + Guid.NewGuid().ToString("N"));
        try
        {
            var summary = await new SynthGenerator(Tiny).GenerateAsync(dir);
            Assert.Equal(2, summary.BaseClips);
            var manifest = Stella.Core.Manifests.StellaManifestReader.Read(Path.Combine(dir, "manifest.csv"));
            var warmup = manifest.Split(Stella.Core.Manifests.ClipSplit.Base).ToList();
            Assert.Equal(2, warmup.Count);
            Assert.All(warmup, c => Assert.Equal(-1, c.Task));
            Assert.All(warmup, c => Assert.Null(manifest.Tasks.TaskOf(c.Label)));
            Assert.Contains(File.ReadAllLines(Path.Combine(dir, "manifest.csv")), l => l.EndsWith(",-,base", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(0, 3, "--tasks")]
    [InlineData(10, 3, "exceeds")]
    public void Options_OutOfRange_NameTheSetting(int tasks, int classes, string expected)
    {
        var e = Assert.Throws<Stella.Core.UserInputException>(() => new SynthGenerator(new SynthOptions { Tasks = tasks, ClassesPerTask = classes }));
        Assert.Contains(expected, e.Message);
    }
}
