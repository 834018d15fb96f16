using Stella.Core.Manifests;

namespace Stella.Pipeline.Tests;

public sealed class FeatureCacheTests
{
    private static ClipOutcome Outcome(int i)
    {
        var rng = new Random(i);
        var audio = Enumerable.Range(0, 1000).Select(_ => (float)rng.NextDouble()).ToArray();
        var video = Enumerable.Range(0, 3000).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        return new ClipOutcome(new ClipRecord($"c{i}", $"clips/c{i}.mp4", "dog", 0, ClipSplit.Train), audio, video, 0.125 * i, null, null);
    }

    [Fact]
    public async Task OverItsBudget_ClipsGoToDisk_AndComeBackBitwise_AndAFailedSpillIsDecodedAgain()
    {
        // 16,000 bytes a clip, 40,000 bytes of budget: two clips stay in memory, the other three are written to disk.
        var spill = TestData.TempDir();
        var decoded = 0;
        var cache = new FeatureCache((_, i, _, _) => { Interlocked.Increment(ref decoded); return Task.FromResult(Outcome(i)); }, keep: true, budgetBytes: 40_000, spillDir: spill);
        for (var i = 0; i < 5; i++)
        {
            cache.Put(0, i, Outcome(i));
        }

        Assert.Equal(3, cache.Spilled);
        Assert.Equal(32_000, cache.BytesInMemory);
        for (var epoch = 0; epoch < 2; epoch++)
        {
            for (var i = 0; i < 5; i++)
            {
                Assert.True(cache.TryTake(0, i, out var taken));
                var o = await taken;
                var expected = Outcome(i);
                Assert.Equal(expected.AudioPatches, o.AudioPatches);
                Assert.Equal(expected.VideoPatches, o.VideoPatches);
                Assert.Equal(expected.VideoStart, o.VideoStart);
                Assert.Equal(expected.Clip, o.Clip);
            }
        }

        Assert.Equal(0, decoded);
        Assert.Equal(3, Directory.GetFiles(spill, "*.parquet").Length);

        // A spill file gone (a full disk, a cleaned folder): the clip is featurized again, the same.
        File.Delete(Directory.GetFiles(spill, "*.parquet").Order(StringComparer.Ordinal).First());
        Assert.True(cache.TryTake(0, 2, out var again));
        Assert.Equal(Outcome(2).VideoPatches, (await again).VideoPatches);
        Assert.Equal(1, decoded);

        // The task's end drops its entries: the memory they held and their files.
        cache.DropBefore(1);
        Assert.Equal(0, cache.BytesInMemory);
        Assert.False(cache.TryTake(0, 0, out _));
        for (var wait = 0; wait < 100 && Directory.GetFiles(spill).Length > 0; wait++)
        {
            await Task.Delay(20);
        }

        Assert.Empty(Directory.GetFiles(spill));
    }

    [Fact]
    public async Task ASpillThatCannotBeReadNorDecodedAgain_FailsTheClipAtRead_NotTheRun()
    {
        var spill = TestData.TempDir();
        var cache = new FeatureCache((_, _, _, _) => throw new IOException("the clip's file is gone too"), keep: true, budgetBytes: 1, spillDir: spill);
        cache.Put(0, 0, Outcome(0));
        Assert.True(cache.TryTake(0, 0, out var first));
        Assert.Equal(Outcome(0).AudioPatches, (await first).AudioPatches);
        await File.WriteAllTextAsync(Directory.GetFiles(spill, "*.parquet").Single(), "damaged");
        Assert.True(cache.TryTake(0, 0, out var taken));
        var failed = await taken;
        Assert.False(failed.Ok);
        Assert.Equal(("read", "Error"), (failed.Stage, failed.Failure));
        Assert.Equal("IOException: the clip's file is gone too", failed.Detail);
        await cache.ClearAsync();
        Assert.Empty(Directory.GetFiles(spill));
    }

    [Fact]
    public void WithoutABudget_EverythingStaysInMemory_AndAugmentedMaterialIsNeverSpilled()
    {
        var spill = TestData.TempDir();
        var unbounded = new FeatureCache((_, i, _, _) => Task.FromResult(Outcome(i)), keep: true, spillDir: spill);
        for (var i = 0; i < 5; i++)
        {
            unbounded.Put(0, i, Outcome(i));
        }

        Assert.Equal((0, 80_000L), (unbounded.Spilled, unbounded.BytesInMemory));

        var bounded = new FeatureCache((_, i, _, _) => Task.FromResult(Outcome(i)), keep: true, budgetBytes: 1, spillDir: spill);
        var material = new ClipMaterial(new float[100], new Stella.Media.Decode.DecodedClip("c", 5, null, new byte[300], 1, 10, 0));
        bounded.Put(0, 0, Outcome(0) with { Material = material });
        Assert.Equal(0, bounded.Spilled);
        Assert.Equal(material.Bytes, bounded.BytesInMemory);
        Assert.Empty(Directory.GetFiles(spill));
    }
}
