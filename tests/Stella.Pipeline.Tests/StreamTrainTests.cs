using System.Text.Json;
using Stella.Continual.Checkpoints;
using Stella.Continual.Memory;
using Stella.Core.Manifests;
using Stella.Core.Tasks;
using Stella.Media.Ffmpeg;
using Stella.Media.Synth;
using Stella.Pipeline;
using Stella.Pipeline.Graph;

namespace Stella.Pipeline.Tests;

public sealed class StreamTrainTests
{
    private static readonly SynthOptions Tiny = TestData.Tiny;
    private static readonly Lazy<Task<string>> Data = new(() => TestData.SynthAsync(Tiny));

    private static StreamTrainConfig Config(string manifest, string method = "stella") => new()
    {
        Name = "test", Manifest = manifest, Method = method, BatchSize = 4, CheckpointEvery = 1000, MaxQuarantineShare = 1.0, Workers = 2,
    };

    /// <summary>TFRecord framing of TensorBoard event files: u64 length, u32 crc, payload, u32 crc; the whole file must parse.</summary>
    /// <summary>A manifest of <paramref name="n"/> training clips of one task whose files do not exist.</summary>
    private static string MissingClips(int n)
    {
        var dir = TestData.TempDir();
        TaskMap.Write(Path.Combine(dir, "tasks.json"), "x", [new TaskDefinition("a", ["dog"])]);
        StellaManifestWriter.Write(Path.Combine(dir, "manifest.csv"),
            Enumerable.Range(0, n).Select(i => new ClipRecord($"c{i}", $"clips/c{i}.mp4", "dog", 0, ClipSplit.Train)));
        return Path.Combine(dir, "manifest.csv");
    }

    private static List<byte[]> TfRecords(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var records = new List<byte[]>();
        var at = 0;
        while (at < bytes.Length)
        {
            var length = (int)BitConverter.ToUInt64(bytes, at);
            Assert.InRange(at + 12 + length + 4, 0, bytes.Length);
            records.Add(bytes[(at + 12)..(at + 12 + length)]);
            at += 12 + length + 4;
        }

        return records;
    }

    [Fact]
    public async Task Run_WritesResultsWithTheDocumentedSchemaAndRanges()
    {
        var data = await Data.Value;
        var outDir = TestData.TempDir();
        var lines = new List<string>();
        // An evaluation-clip cache that cannot be made (a file in its place) is said once and bypassed: no clip is lost.
        var blocked = Path.Combine(TestData.TempDir(), "not-a-folder");
        await File.WriteAllTextAsync(blocked, "in the way");
        var results = await new StreamTrainJob(Config(Path.Combine(data, "manifest.csv")), outDir, lines.Add) { EvalCache = Path.Combine(blocked, "eval") }.RunAsync(false, CancellationToken.None);
        Assert.Single(lines, l => l.StartsWith($"note: the evaluation-clip cache {Path.Combine(blocked, "eval")} failed (", StringComparison.Ordinal) && l.EndsWith("; clips are decoded without it", StringComparison.Ordinal));
        Assert.Contains("evaluation set: 8 retrieval clips ready (0 quarantined)", lines);

        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(results));
        var root = doc.RootElement;
        Assert.Equal("stella", root.GetProperty("method").GetString());
        Assert.Equal(2, root.GetProperty("tasks").GetArrayLength());
        foreach (var direction in new[] { "a2v", "v2a" })
        {
            foreach (var k in new[] { "R@1", "R@5", "R@10" })
            {
                var entry = root.GetProperty(direction).GetProperty(k);
                var acc = entry.GetProperty("acc");
                Assert.Equal(2, acc.GetArrayLength());
                Assert.All(acc.EnumerateArray().SelectMany(r => r.EnumerateArray()), v => Assert.InRange(v.GetDouble(), 0, 100));
                Assert.InRange(entry.GetProperty("A").GetDouble(), 0, 100);
                Assert.InRange(entry.GetProperty("F").GetDouble(), -100, 100);
            }

            Assert.InRange(root.GetProperty(direction).GetProperty("avg").GetProperty("A").GetDouble(), 0, 100);
        }

        // The per-query ranks recompute the stored A and F (and accuracy matrices) exactly as the run computed them.
        var run = RunResults.Read(results);
        Assert.Equal(2, run.Ranks!.A2V.Count);
        Assert.Equal([4, 4], run.Ranks.Clips.Select(c => c.Length));
        foreach (var direction in Stella.Pipeline.Compare.PairedStatistics.Directions)
        {
            var stored = direction == "a2v" ? run.A2V : run.V2A;
            var recomputed = Results.ScoresFromRanks(run.Ranks.Of(direction), run.Tasks.Count);
            foreach (var k in Stella.Pipeline.Compare.PairedStatistics.Ks)
            {
                Assert.Equal((stored[k].A, stored[k].F), (recomputed[k].A, recomputed[k].F));
                Assert.Equal(stored[k].Acc, recomputed[k].Acc);
            }
        }

        Assert.All(root.GetProperty("modality_gap_final").EnumerateArray(), g => Assert.InRange(g.GetDouble(), 0, 2));
        Assert.All(root.GetProperty("localization").EnumerateArray().SelectMany(r => r.EnumerateArray()),
            l => Assert.True(l.ValueKind == JsonValueKind.Null || l.GetDouble() is >= 0 and <= 100));
        RunAssert.OwnLocalizationInstrument(root, avm: true);
        var efficiency = root.GetProperty("efficiency");
        Assert.True(efficiency.GetProperty("samples_per_s").GetDouble() > 0);
        Assert.True(efficiency.GetProperty("step_ms").GetDouble() > 0);
        Assert.InRange(efficiency.GetProperty("trainer_busy_percent").GetDouble(), 0, 100.5);
        Assert.Equal(4, efficiency.GetProperty("steps").GetInt64());
        foreach (var file in new[] { "report.md", "metrics.jsonl", "quarantine.csv", "checkpoints/LATEST" })
        {
            Assert.True(File.Exists(Path.Combine(outDir, file)), file);
        }

        foreach (var png in new[] { "acc_a2v_R10.png", "acc_v2a_R10.png", "modality_gap.png", "attention_after_task0.png", "attention_after_task1.png" })
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(outDir, "plots", png));
            Assert.True(bytes.Length > 2000 && bytes[1] == (byte)'P' && bytes[2] == (byte)'N' && bytes[3] == (byte)'G', png);
            Assert.Contains($"plots/{png}", await File.ReadAllTextAsync(Path.Combine(outDir, "report.md")));
        }

        var probe = root.GetProperty("linear_probe");
        Assert.Equal(2, probe.GetArrayLength());
        Assert.All(probe.EnumerateArray().SelectMany(r => r.EnumerateArray()), p => Assert.InRange(p.GetDouble(), 0, 100));
        Assert.True(efficiency.GetProperty("model_state_mb").GetDouble() > 1);
        var records = File.ReadLines(Path.Combine(outDir, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(4, records.Count(r => r.GetProperty("kind").GetString() == "train"));
        Assert.All(records.Where(r => r.GetProperty("kind").GetString() == "train"), r => Assert.True(r.GetProperty("loss").GetDouble() > 0));
        Assert.Equal([0.0, 1.0], records.Where(r => r.GetProperty("kind").GetString() == "eval").Select(r => r.GetProperty("after_task").GetDouble()));
        var events = Directory.GetFiles(Path.Combine(outDir, "tensorboard"), "events.out.tfevents.*");
        Assert.Single(events);
        var tags = TfRecords(events[0]).Select(r => System.Text.Encoding.Latin1.GetString(r)).ToList();
        Assert.Equal(4, tags.Count(t => t.Contains("train/loss", StringComparison.Ordinal)));
        Assert.Equal(2, tags.Count(t => t.Contains("eval/a2v_R@10_seen", StringComparison.Ordinal)));
        // The memory opens with the shard reader: a table per task, pictures, and its whole-clip items as training rows.
        var items = efficiency.GetProperty("memory_items").GetInt32();
        var show = Path.Combine(outDir, "memory-show");
        var table = await Stella.Pipeline.Shards.MemoryReport.WriteAsync(outDir, show, Stella.Model.Config.ModelConfig.Tiny, 1, CancellationToken.None);
        var counts = table.Split('\n').Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\| \d+ \| ")).Select(l => int.Parse(l.Split('|')[2].Trim(), System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(2, counts.Count);
        Assert.Equal(items, counts.Sum());
        Assert.Equal(4, Directory.GetFiles(show, "*.png").Length);
        var memory = await Stella.Pipeline.Shards.PatchShardSource.OpenAsync([Stella.Pipeline.Shards.MemoryReport.MemoryDirectory(outDir)], Stella.Model.Config.ModelConfig.Tiny, _ => { }, CancellationToken.None);
        Assert.Equal(items, memory.Manifest.Clips.Count);
        Assert.True((await memory.TrainAsync(memory.Manifest.Clips[0], 0, 0, CancellationToken.None)).Ok);

        // COINCIDE's activations of the trained model: one unit row per training clip, [video || audio] per layer.
        var features = Path.Combine(outDir, "features.npy");
        Assert.Equal(16, await new ExtractJob(outDir, Path.Combine(data, "manifest.csv"), features, "tiny", [0, 2], _ => { }).RunAsync(CancellationToken.None));
        var (values, shape) = Stella.Core.Arrays.Npy.ReadFloat32(features);
        Assert.Equal([16L, 4L * 128], shape);
        Assert.All(Enumerable.Range(0, 16), r => Assert.InRange(Math.Sqrt(values.Skip(r * 512).Take(512).Sum(v => v * (double)v)), 0.999, 1.001));
        Assert.Equal(16, File.ReadAllLines(features + ".clips.txt").Length);
        // Two processes' shards (contiguous halves, Parquet) assemble into the same matrix, rows in manifest order.
        var shards = Path.Combine(outDir, "feature-shards");
        Assert.Equal(8, await new ExtractJob(outDir, Path.Combine(data, "manifest.csv"), shards, "tiny", [0, 2], _ => { }, shard: 1, numShards: 2).RunAsync(CancellationToken.None));
        Assert.Equal(8, await new ExtractJob(outDir, Path.Combine(data, "manifest.csv"), shards, "tiny", [0, 2], _ => { }, shard: 0, numShards: 2).RunAsync(CancellationToken.None));
        var assembled = Path.Combine(outDir, "assembled.npy");
        Assert.Equal((16, 512), await Stella.Coreset.FeatureShards.ToNpyAsync(shards, assembled, _ => { }));
        var (merged, _) = Stella.Core.Arrays.Npy.ReadFloat32(assembled);
        Assert.All(Enumerable.Range(0, values.Length), i => Assert.Equal(values[i], merged[i], 5));
        Assert.Equal(File.ReadAllLines(features + ".clips.txt"), File.ReadAllLines(assembled + ".clips.txt"));
        Assert.Contains("give --out a folder", (await Assert.ThrowsAsync<Stella.Core.UserInputException>(() => new ExtractJob(outDir, Path.Combine(data, "manifest.csv"), features, "tiny", [0], _ => { }, shard: 0, numShards: 2).RunAsync(CancellationToken.None))).Message);
        var subset = Path.Combine(outDir, "subset.npy");
        Stella.Core.Arrays.Npy.Write(subset, new long[] { 3, 16 }, 2);
        var config = Config(Path.Combine(data, "manifest.csv"));
        config.Subset = subset;
        var outside = await Assert.ThrowsAsync<Stella.Core.UserInputException>(() => new StreamTrainJob(config, TestData.TempDir(), _ => { }).RunAsync(false, CancellationToken.None));
        Assert.Equal($"{subset}: row 16 is outside the manifest's 16 training clips", outside.Message);

        var again = await Assert.ThrowsAsync<Stella.Core.UserInputException>(() => new StreamTrainJob(Config(Path.Combine(data, "manifest.csv")), outDir, _ => { }).RunAsync(false, CancellationToken.None));
        Assert.Contains("--resume", again.Message);
    }

    [Fact]
    public async Task Run_WithBadClips_QuarantinesEachWithItsReason_AndCompletes()
    {
        var data = await Data.Value;
        var dir = TestData.TempDir();
        var manifest = StellaManifestReader.Read(Path.Combine(data, "manifest.csv"));
        foreach (var file in Directory.GetFiles(Path.Combine(data, "clips")))
        {
            Directory.CreateDirectory(Path.Combine(dir, "clips"));
            File.Copy(file, Path.Combine(dir, "clips", Path.GetFileName(file)));
        }

        var good = await File.ReadAllBytesAsync(Path.Combine(dir, manifest.Clips[0].RelativePath));
        await File.WriteAllBytesAsync(Path.Combine(dir, "clips", "truncated.mp4"), good[..(good.Length / 3)]);
        await File.WriteAllBytesAsync(Path.Combine(dir, "clips", "garbage.mp4"), Enumerable.Range(0, 40_000).Select(i => (byte)(i * 31 % 251)).ToArray());
        WavFile.WritePcm16(Path.Combine(dir, "clips", "novideo.mp4"), new float[16000 * 5], 16000);
        var frames = Enumerable.Range(0, 40).Select(_ => new byte[32 * 32 * 3]).ToList();
        await Mp4Encoder.EncodeAsync(Path.Combine(dir, "clips", "noaudio.mp4"), frames, 32, 32, 8, null, 16000);
        await Mp4Encoder.EncodeAsync(Path.Combine(dir, "clips", "short.mp4"), frames.Take(12).ToList(), 32, 32, 8, new float[16000 * 2], 16000);
        var label = manifest.Tasks.Tasks[0].Classes[0];
        var bad = new (string Id, string Path, string Reason)[]
        {
            ("missing", "clips/missing.mp4", "MissingFile"),
            ("truncated", "clips/truncated.mp4", "Corrupt"),
            ("garbage", "clips/garbage.mp4", "Corrupt"),
            ("novideo", "clips/novideo.mp4", "NoVideoStream"),
            ("noaudio", "clips/noaudio.mp4", "NoAudioStream"),
            ("short", "clips/short.mp4", "TooShort"),
            ("escape", "../outside.mp4", "BadManifestRow"),
        };
        var clips = bad.Select(b => new ClipRecord(b.Id, b.Path, label, 0, ClipSplit.Train)).Concat(manifest.Clips).ToList();
        StellaManifestWriter.Write(Path.Combine(dir, "manifest.csv"), clips);
        TaskMap.Write(Path.Combine(dir, "tasks.json"), "synth", manifest.Tasks.Tasks);

        var outDir = TestData.TempDir();
        await new StreamTrainJob(Config(Path.Combine(dir, "manifest.csv"), "der++"), outDir, _ => { }).RunAsync(false, CancellationToken.None);

        var rows = File.ReadLines(Path.Combine(outDir, "quarantine.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        foreach (var (id, _, reason) in bad)
        {
            var row = Assert.Single(rows, r => r[0] == $"\"{id}\"");
            Assert.Equal(reason, row[5]);
            Assert.Equal("decode", row[4]);
        }

        Assert.Equal(bad.Length, rows.Count);
    }

    [Fact]
    public async Task Run_QuarantineFullWhileDecodeHoldsFailedClips_StopsInsteadOfHanging()
    {
        // A block whose input had all been taken in before a stop was not completed by its cancelled token: decode kept failed clips
        // that the full quarantine had postponed, the quarantine, faulted by its limit, declined them, and the run hung instead of
        // stopping (seen in the suite). Set up here: the quarantine waits in its 20th record (the one over the limit) until decode
        // has failed all 91 clips and holds the last 8 in its output (Workers 2: room for 8), the quarantine 64 (63 queued and the
        // one it records); then the record stops the run. Without the fix this hung in the runs I made (a Dataflow race remains:
        // the faulting quarantine hands decode's first clip back, and if the stop is seen before that offer ends, decode completes).
        var config = Config(MissingClips(91), "finetune");
        config.MaxQuarantineShare = 0.5;
        var decoded = 0;
        var quarantined = 0;
        StreamTrainJob? job = null;
        job = new StreamTrainJob(config, TestData.TempDir(), line =>
        {
            if (line.StartsWith("quarantined ", StringComparison.Ordinal) && Interlocked.Increment(ref quarantined) == 20)
            {
                Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref decoded) == 91 && job!.Progress.Snapshot().DecodeQueue == 8, TimeSpan.FromMinutes(1)), "decode never held the last 8 clips");
                Thread.Sleep(200); // decode's input side completes after its last clip
            }
        })
        {
            Fault = (stage, _) =>
            {
                if (stage == DecodeStage.Name)
                {
                    Interlocked.Increment(ref decoded);
                    throw new IOException("injected at decode");
                }
            },
        };

        var e = await Assert.ThrowsAsync<QuarantineLimitException>(() => job.RunAsync(false, CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(2)));
        Assert.Contains("20 of 20 clips quarantined", e.Message);
    }

    [Fact]
    public async Task Run_WhereNoRetrievalClipOfATaskDecodes_CheckpointsItsNaNFigures_AndFinishes()
    {
        // Task 1's retrieval clips are missing files: its evaluation has no clips, so its modality gap is NaN. The checkpoint's
        // run state must hold that (it failed to save, crashing the run, before named floating-point literals were allowed).
        var data = await Data.Value;
        var dir = TestData.TempDir();
        var manifest = StellaManifestReader.Read(Path.Combine(data, "manifest.csv"));
        File.Copy(Path.Combine(data, "tasks.json"), Path.Combine(dir, "tasks.json"));
        StellaManifestWriter.Write(Path.Combine(dir, "manifest.csv"),
            manifest.Clips.Select(c => c.Split == ClipSplit.Retrieval && c.Task == 1 ? c with { RelativePath = $"clips/gone-{c.ClipId}.mp4" } : c));
        var config = Config(Path.Combine(dir, "manifest.csv"));
        config.DataRoot = data;
        config.ProbePerClass = 0;
        var outDir = TestData.TempDir();
        var results = await new StreamTrainJob(config, outDir, _ => { }).RunAsync(false, CancellationToken.None);

        var run = RunResults.Read(results);
        Assert.Null(run.ModalityGapFinal[1]);
        Assert.NotNull(run.ModalityGapFinal[0]);
        Assert.Equal(4, run.Quarantined);
        var state = await File.ReadAllTextAsync(Path.Combine(new CheckpointStore(Path.Combine(outDir, "checkpoints"), config.Hash()).Latest!, "run_state.json"));
        Assert.Contains("NaN", state, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_TooManyBadClips_StopsWithASummary()
    {
        var config = Config(MissingClips(30), "finetune");
        config.MaxQuarantineShare = 0.1;
        var e = await Assert.ThrowsAsync<QuarantineLimitException>(() => new StreamTrainJob(config, TestData.TempDir(), _ => { }).RunAsync(false, CancellationToken.None));
        Assert.Contains("quarantined", e.Message);
        Assert.Contains("above the tolerated 10", e.Message);
    }
}
