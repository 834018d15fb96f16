using System.Text.Json;
using Stella.Continual.Checkpoints;
using Stella.Continual.Memory;
using Stella.Media.Synth;

namespace Stella.Pipeline.Tests;

/// <summary>Small rendered benchmarks (one per option set, made once per test run) and fresh temporary folders.</summary>
internal static class TestData
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<SynthOptions, Lazy<Task<string>>> Sets = new();

    /// <summary>The small benchmark most test classes share (2 tasks x 2 classes x 4 training clips, 2 retrieval clips a class, no warm-up split): rendered once per test run.</summary>
    public static readonly SynthOptions Tiny = new() { Tasks = 2, ClassesPerTask = 2, TrainPerClass = 4, EvalPerClass = 2, BaseClasses = 0, Seconds = 5, Seed = 3 };

    /// <summary>The folder of a benchmark rendered with <paramref name="options"/>.</summary>
    public static Task<string> SynthAsync(SynthOptions options) => Sets.GetOrAdd(options, o => new Lazy<Task<string>>(async () =>
    {
        var dir = Stella.Tests.Shared.TestTemp.Dir("data");
        await new SynthGenerator(o).GenerateAsync(dir);
        return dir;
    })).Value;

    /// <summary>A new empty folder.</summary>
    public static string TempDir()
    {
        return Stella.Tests.Shared.TestTemp.Dir();
    }
}

/// <summary>The rows of a folder of compact patch shards, for comparing folders written by different jobs.</summary>
internal static class ShardRows
{
    /// <summary>Clip/window -> task, index, window start, frame count and a digest of the fbank and frames, over every file of <paramref name="dir"/>.</summary>
    public static async Task<Dictionary<string, string>> ReadAsync(string dir)
    {
        var rows = new Dictionary<string, string>();
        foreach (var file in Directory.GetFiles(dir, "*.parquet"))
        {
            foreach (var row in (await Parquet.Serialization.ParquetSerializer.DeserializeAsync<Stella.Pipeline.Shards.CompactPatchRow>(file)).Data)
            {
                rows.Add($"{row.ClipId}/{row.Window}", $"{row.Task}|{row.Index}|{row.VideoStart}|{row.FrameCount}|{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(row.Fbank.Concat(row.Frames).ToArray()))}");
            }
        }

        return rows;
    }
}

/// <summary>A rendered benchmark with broken clips inside the training streams of its first two tasks.</summary>
internal static class BrokenStream
{
    /// <summary>
    /// Copies <paramref name="data"/> into a new folder and inserts, after the second training clip of task 0 and of task 1, a
    /// truncated MP4, a text file named .mp4 and a missing file; returns the folder (manifest.csv, tasks.json, clips/).
    /// </summary>
    public static async Task<string> CreateAsync(string data)
    {
        var dir = TestData.TempDir();
        var manifest = Stella.Core.Manifests.StellaManifestReader.Read(Path.Combine(data, "manifest.csv"));
        Directory.CreateDirectory(Path.Combine(dir, "clips"));
        foreach (var file in Directory.GetFiles(Path.Combine(data, "clips")))
        {
            File.Copy(file, Path.Combine(dir, "clips", Path.GetFileName(file)));
        }

        foreach (var extra in new[] { "ground_truth.jsonl" }.Where(f => File.Exists(Path.Combine(data, f))))
        {
            File.Copy(Path.Combine(data, extra), Path.Combine(dir, extra));
        }

        var good = await File.ReadAllBytesAsync(Path.Combine(dir, manifest.Clips[0].RelativePath));
        await File.WriteAllBytesAsync(Path.Combine(dir, "clips", "truncated.mp4"), good[..(good.Length / 3)]);
        await File.WriteAllTextAsync(Path.Combine(dir, "clips", "text.mp4"), "this is not a video\n");
        var clips = new List<Stella.Core.Manifests.ClipRecord>();
        var trainSeen = new Dictionary<int, int>();
        foreach (var clip in manifest.Clips)
        {
            clips.Add(clip);
            if (clip.Split != Stella.Core.Manifests.ClipSplit.Train || clip.Task > 1)
            {
                continue;
            }

            trainSeen[clip.Task] = trainSeen.GetValueOrDefault(clip.Task) + 1;
            if (trainSeen[clip.Task] == 2)
            {
                foreach (var (id, path) in new[] { ("truncated", "clips/truncated.mp4"), ("text", "clips/text.mp4"), ("missing", "clips/missing.mp4") })
                {
                    clips.Add(clip with { ClipId = $"{id}-t{clip.Task}", RelativePath = path });
                }
            }
        }

        Stella.Core.Manifests.StellaManifestWriter.Write(Path.Combine(dir, "manifest.csv"), clips.Select((c, i) => c with { Row = i }));
        Stella.Core.Tasks.TaskMap.Write(Path.Combine(dir, "tasks.json"), "synth", manifest.Tasks.Tasks);
        return dir;
    }
}

/// <summary>Comparisons of whole runs.</summary>
internal static class RunAssert
{
    /// <summary>
    /// A results.json carries localization by both instruments, one row per evaluation and a value per task in [0, 100]; its
    /// "localization" is the learner's own instrument's (the AVM's when <paramref name="avm"/>, the cosine's else).
    /// </summary>
    public static void OwnLocalizationInstrument(JsonElement root, bool avm)
    {
        var own = root.GetProperty("localization").GetRawText();
        var (same, other) = avm ? ("localization_avm", "localization_cosine") : ("localization_cosine", "localization_avm");
        Assert.Equal(own, root.GetProperty(same).GetRawText());
        foreach (var key in new[] { same, other })
        {
            var rows = root.GetProperty(key);
            Assert.Equal(root.GetProperty("localization").GetArrayLength(), rows.GetArrayLength());
            Assert.All(rows.EnumerateArray().SelectMany(r => r.EnumerateArray()), v => Assert.InRange(v.GetDouble(), 0, 100));
        }
    }

    /// <summary>Two runs ended in the same state: results (all but timings), step count, rehearsal memory, quarantine.</summary>
    public static void Same(string expected, string actual, string hash)
    {
        var a = JsonDocument.Parse(File.ReadAllText(Path.Combine(expected, "results.json"))).RootElement;
        var b = JsonDocument.Parse(File.ReadAllText(Path.Combine(actual, "results.json"))).RootElement;
        // ranks: a resumed run reports the per-query ranks of the evaluations its checkpoints carried, too.
        Assert.Equal(JsonValueKind.Object, b.GetProperty("ranks").ValueKind);
        foreach (var key in new[] { "a2v", "v2a", "modality_gap", "localization", "localization_avm", "localization_cosine", "linear_probe", "quarantined", "ranks" })
        {
            Assert.Equal(a.GetProperty(key).GetRawText(), b.GetProperty(key).GetRawText());
        }

        foreach (var key in new[] { "steps", "train_clips", "memory_items" })
        {
            Assert.Equal(a.GetProperty("efficiency").GetProperty(key).GetRawText(), b.GetProperty("efficiency").GetProperty(key).GetRawText());
        }

        Assert.Equal(File.ReadLines(Path.Combine(expected, "checkpoints", "LATEST")).First(), File.ReadLines(Path.Combine(actual, "checkpoints", "LATEST")).First());
        var ma = new ParquetMemoryStore(Path.Combine(new CheckpointStore(Path.Combine(expected, "checkpoints"), hash).Latest!, "memory"), hash).ReadAsync().GetAwaiter().GetResult();
        var mb = new ParquetMemoryStore(Path.Combine(new CheckpointStore(Path.Combine(actual, "checkpoints"), hash).Latest!, "memory"), hash).ReadAsync().GetAwaiter().GetResult();
        Assert.Equal(ma.Select(i => (i.Slot, i.ClipId)), mb.Select(i => (i.Slot, i.ClipId)));
        Assert.All(ma.Zip(mb), p => Assert.Equal(p.First.AudioPatches, p.Second.AudioPatches));
        Assert.All(ma.Zip(mb), p => Assert.Equal(p.First.PooledAudio, p.Second.PooledAudio));
        // Clip, path, task, row, stage and reason (ffmpeg's detail text carries a heap address that changes from run to run).
        static IEnumerable<string> Quarantined(string run) =>
            File.ReadLines(Path.Combine(run, "quarantine.csv")).Select(l => string.Join(',', l.Split(',').Take(6))).Order(StringComparer.Ordinal);
        Assert.Equal(Quarantined(expected), Quarantined(actual));
    }
}
