using System.Text.Json;
using Parquet.Serialization;
using Stella.Media.Synth;
using Stella.Model.Config;
using Stella.Pipeline.Shards;

namespace Stella.Pipeline.Tests;

public sealed class PatchShardTests
{
    private static readonly SynthOptions Tiny = new() { Tasks = 2, ClassesPerTask = 2, TrainPerClass = 4, EvalPerClass = 2, BaseClasses = 0, Seconds = 5, Seed = 11 };
    private static readonly Lazy<Task<string>> Data = new(() => TestData.SynthAsync(Tiny));

    private static StreamTrainConfig Config(string data, string method = "stella") => new()
    {
        Name = "shards", Manifest = Path.Combine(data, "manifest.csv"), Method = method, BatchSize = 4, EpochsPerTask = 2, CheckpointEvery = 3,
        Workers = 2, ProbePerClass = 2, Seed = 2,
    };

    /// <summary>
    /// The benchmark preprocessed once by one job (whole) and once by two (split, shards 0 and 1 of 2), with each job's row count;
    /// shared by the tests that only read shards (the method does not enter preprocessing).
    /// </summary>
    private static readonly Lazy<Task<(string Whole, string Split, int Rows, int First, int Second)>> Shards = new(async () =>
    {
        var data = await Data.Value;
        var whole = TestData.TempDir();
        var split = TestData.TempDir();
        var rows = await new PreprocessJob(Config(data), whole, 0, 1, _ => { }).RunAsync(CancellationToken.None);
        var first = await new PreprocessJob(Config(data), split, 0, 2, _ => { }).RunAsync(CancellationToken.None);
        var second = await new PreprocessJob(Config(data), split, 1, 2, _ => { }).RunAsync(CancellationToken.None);
        return (whole, split, rows, first, second);
    });

    [Theory]
    [InlineData("stella")]
    [InlineData("multitask")] // the joint stream: shuffled over a canonical order, each clip with its own task's window
    public async Task Replay_FromShardsWrittenByTwoJobs_GivesTheResultsOfTrainingFromTheClips(string method)
    {
        var data = await Data.Value;
        var fromClips = TestData.TempDir();
        var clipsResults = await new StreamTrainJob(Config(data, method), fromClips, _ => { }).RunAsync(false, CancellationToken.None);

        var (whole, split, rows, first, second) = await Shards.Value;
        // 16 training rows, 8 retrieval rows, 2 probe clips x 4 classes.
        Assert.Equal(32, rows);
        Assert.Equal(rows, first + second);
        Assert.Equal(await ShardRows.ReadAsync(whole), await ShardRows.ReadAsync(split));

        var source = await PatchShardSource.OpenAsync([split], ModelConfig.Tiny, _ => { }, CancellationToken.None);
        var fromShards = TestData.TempDir();
        var shardResults = await new StreamTrainJob(Config(data, method), fromShards, _ => { }) { Source = source }.RunAsync(false, CancellationToken.None);

        using var a = JsonDocument.Parse(await File.ReadAllTextAsync(clipsResults));
        using var b = JsonDocument.Parse(await File.ReadAllTextAsync(shardResults));
        foreach (var key in new[] { "tasks", "a2v", "v2a", "modality_gap", "localization", "localization_avm", "localization_cosine", "linear_probe" })
        {
            Assert.Equal(a.RootElement.GetProperty(key).GetRawText(), b.RootElement.GetProperty(key).GetRawText());
        }

        // Both localization instruments for every learner; "localization" is the learner's own (the AVM for STELLA, the cosine else).
        RunAssert.OwnLocalizationInstrument(a.RootElement, avm: method == "stella");

        Assert.Equal(a.RootElement.GetProperty("efficiency").GetProperty("steps").GetInt64(), b.RootElement.GetProperty("efficiency").GetProperty("steps").GetInt64());
        Assert.Equal(await File.ReadAllTextAsync(Path.Combine(fromClips, "checkpoints", "LATEST")), await File.ReadAllTextAsync(Path.Combine(fromShards, "checkpoints", "LATEST")));
    }

    [Fact]
    public async Task Read_Version1PatchShards_GiveBitwiseTheInputsOfCompactShards_InMoreBytes()
    {
        var data = await Data.Value;
        var compact = (await Shards.Value).Whole;
        var patches = TestData.TempDir();
        await new PreprocessJob(Config(data), patches, 0, 1, _ => { }) { Patches = true }.RunAsync(CancellationToken.None);

        var a = await PatchShardSource.OpenAsync([compact], ModelConfig.Tiny, _ => { }, CancellationToken.None);
        var b = await PatchShardSource.OpenAsync([patches], ModelConfig.Tiny, _ => { }, CancellationToken.None);
        Assert.Equal(a.Manifest.Clips.Select(c => c.ClipId), b.Manifest.Clips.Select(c => c.ClipId));
        var compared = 0;
        foreach (var clip in a.Manifest.Clips)
        {
            var pairs = new List<(ClipOutcome, ClipOutcome)> { (await a.EvalAsync(clip, CancellationToken.None), await b.EvalAsync(clip, CancellationToken.None)) };
            if (clip.Split == Stella.Core.Manifests.ClipSplit.Train)
            {
                pairs.Add((await a.TrainAsync(clip, clip.Task, 0, CancellationToken.None), await b.TrainAsync(clip, clip.Task, 0, CancellationToken.None)));
            }

            foreach (var (x, y) in pairs.Where(p => p.Item1.Ok || p.Item2.Ok))
            {
                Assert.True(x.Ok && y.Ok, clip.ClipId);
                Assert.Equal(y.VideoStart, x.VideoStart);
                Assert.Equal(y.AudioPatches, x.AudioPatches);
                Assert.Equal(y.VideoPatches, x.VideoPatches);
                compared++;
            }
        }

        Assert.Equal(32, compared);
        static long Bytes(string dir) => Directory.GetFiles(dir, "*.parquet").Sum(f => new FileInfo(f).Length);
        Assert.True(Bytes(compact) < Bytes(patches), $"compact {Bytes(compact)} bytes, patches {Bytes(patches)}");
    }

    [Fact]
    public async Task Read_CompactShardsWithAFloat16Fbank_GiveTheSameFrames_AndTheFbankToHalfPrecision()
    {
        var data = await Data.Value;
        var exact = await PatchShardSource.OpenAsync([(await Shards.Value).Whole], ModelConfig.Tiny, _ => { }, CancellationToken.None);
        var dir = TestData.TempDir();
        await new PreprocessJob(Config(data), dir, 0, 1, _ => { }) { HalfFbank = true }.RunAsync(CancellationToken.None);
        var half = await PatchShardSource.OpenAsync([dir], ModelConfig.Tiny, _ => { }, CancellationToken.None);

        var rounded = 0;
        foreach (var clip in exact.Manifest.Clips.Where(c => c.Split == Stella.Core.Manifests.ClipSplit.Train))
        {
            var x = await exact.TrainAsync(clip, clip.Task, 0, CancellationToken.None);
            var y = await half.TrainAsync(clip, clip.Task, 0, CancellationToken.None);
            Assert.Equal(x.VideoPatches, y.VideoPatches);
            for (var i = 0; i < x.AudioPatches!.Length; i++)
            {
                // float16 keeps 11 significant bits: a relative error of at most 2^-11 (values here are far from its subnormals).
                Assert.True(Math.Abs(x.AudioPatches[i] - y.AudioPatches![i]) <= Math.Abs(x.AudioPatches[i]) / 2048 + 1e-7, $"{clip.ClipId}[{i}]: {x.AudioPatches[i]} -> {y.AudioPatches[i]}");
                rounded += x.AudioPatches[i] != y.AudioPatches[i] ? 1 : 0;
            }
        }

        Assert.True(rounded > 0, "float16 storage changed no fbank value: it was not used");
    }

    [Fact]
    public async Task Shards_WithoutAugmentation_RefuseAnAugmentedRun_ByName()
    {
        var source = await PatchShardSource.OpenAsync([(await Shards.Value).Whole], ModelConfig.Tiny, _ => { }, CancellationToken.None);
        Assert.Null(source.PreparedAugment);
        var e = Assert.Throws<Stella.Core.UserInputException>(() => source.UseAugmentation(new Augment.AugmentOptions { RandomWindow = true }, 2));
        Assert.Equal("augment (window) needs shards preprocessed with it (they keep the media each epoch is made from); these were preprocessed with no augmentation: run 'stella preprocess' with this config", e.Message);
    }

    [Fact]
    public async Task Open_ShardsOfAnotherGeometry_AreRefusedByName()
    {
        var dir = (await Shards.Value).Whole;
        var e = await Assert.ThrowsAsync<Stella.Core.UserInputException>(() => PatchShardSource.OpenAsync([dir], ModelConfig.Base, _ => { }, CancellationToken.None));
        Assert.Contains("shard-0000-of-0001-", e.Message);
        Assert.Contains("patch geometry 'audio 512x128 -> 256x256; video 4x3x128x128 -> 256x768; patch 16' does not match the base model's", e.Message);
    }

    [Fact]
    public async Task Open_DamagedShard_IsReportedSkippedAndCounted()
    {
        var data = await Data.Value;
        var dir = TestData.TempDir();
        await new PreprocessJob(Config(data), dir, 0, 1, _ => { }) { RowsPerFile = 4 }.RunAsync(CancellationToken.None);
        var victim = Directory.GetFiles(dir, "*-t001.parquet").Order(StringComparer.Ordinal).First();
        var bytes = await File.ReadAllBytesAsync(victim);
        await File.WriteAllBytesAsync(victim, bytes[..(bytes.Length / 2)]);
        var lost = (await ParquetSerializer.DeserializeAsync<CompactPatchRow>(Directory.GetFiles(await CopyBack(victim, bytes), "*.parquet")[0])).Data.Select(r => r.ClipId).ToList();

        var lines = new List<string>();
        var source = await PatchShardSource.OpenAsync([dir], ModelConfig.Tiny, lines.Add, CancellationToken.None);
        Assert.Single(source.Damaged);
        Assert.StartsWith(victim, source.Damaged[0]);
        Assert.Contains(lines, l => l.StartsWith($"damaged shard skipped: {victim}", StringComparison.Ordinal));
        Assert.Equal(4, lost.Count);

        // The other 12 training rows read back; a lost clip still known from its linear-probe row is quarantined, not silently gone.
        var train = source.Manifest.Clips.Where(c => c.Split == Stella.Core.Manifests.ClipSplit.Train).ToList();
        var outcomes = await Task.WhenAll(train.Select(c => source.TrainAsync(c, c.Task, 0, CancellationToken.None)));
        Assert.Equal(12, outcomes.Count(o => o.Ok));
        Assert.All(outcomes.Where(o => !o.Ok), o => Assert.True(lost.Contains(o.Clip.ClipId) && o.Failure == "MissingInShards", o.Clip.ClipId));
    }

    private static async Task<string> CopyBack(string victim, byte[] original)
    {
        var dir = TestData.TempDir();
        await File.WriteAllBytesAsync(Path.Combine(dir, Path.GetFileName(victim)), original);
        return dir;
    }
}
