using Stella.Core.Manifests;
using Stella.Pipeline.Sources;

namespace Stella.Pipeline.Tests;

public sealed class EvalFeatureCacheTests
{
    private static async Task<(ClipFileSource Source, ClipRecord Clip, string Data)> OpenAsync(string model = "tiny", string? data = null)
    {
        data ??= await TestData.SynthAsync(TestData.Tiny);
        var config = new StreamTrainConfig { Name = "cache", Manifest = Path.Combine(data, "manifest.csv"), Model = model };
        var source = await ClipFileSource.OpenAsync(config, _ => { }, CancellationToken.None);
        return (source, source.Manifest.Split(ClipSplit.Retrieval).First(), data);
    }

    [Fact]
    public async Task AClipWrittenThenRead_GivesTheDecodedPatchesBitwise()
    {
        var (source, clip, _) = await OpenAsync();
        var cache = new EvalFeatureCache(TestData.TempDir());
        var decoded = await source.EvalAsync(clip, CancellationToken.None);
        var key = source.EvalCacheKey(clip)!;

        Assert.Null(await cache.TryReadAsync(key, clip, CancellationToken.None));
        await cache.WriteAsync(key, decoded, CancellationToken.None);
        var read = await cache.TryReadAsync(key, clip, CancellationToken.None);

        Assert.NotNull(read);
        Assert.Same(clip, read.Clip);
        Assert.Equal(decoded.AudioPatches, read.AudioPatches);
        Assert.Equal(decoded.VideoPatches, read.VideoPatches);
        Assert.Equal(decoded.VideoStart, read.VideoStart);
        Assert.True(read.Ok);
        // Another clip under this key (a foreign or hand-copied file) is no hit.
        var other = source.Manifest.Split(ClipSplit.Retrieval).Skip(1).First();
        Assert.Null(await cache.TryReadAsync(key, other, CancellationToken.None));
    }

    [Fact]
    public async Task TheKey_FollowsTheFileAndTheGeometry()
    {
        var data = TestData.TempDir();
        var tiny = await TestData.SynthAsync(TestData.Tiny);
        foreach (var file in new[] { "manifest.csv", "tasks.json", "synth.json", "ground_truth.jsonl" })
        {
            File.Copy(Path.Combine(tiny, file), Path.Combine(data, file));
        }

        Directory.CreateDirectory(Path.Combine(data, "clips"));
        foreach (var file in Directory.GetFiles(Path.Combine(tiny, "clips")))
        {
            File.Copy(file, Path.Combine(data, "clips", Path.GetFileName(file)));
        }

        var (source, clip, _) = await OpenAsync(data: data);
        var key = source.EvalCacheKey(clip);
        Assert.Matches("^[0-9a-f]{32}$", key);
        Assert.Equal(key, source.EvalCacheKey(clip));
        Assert.Equal(key, (await OpenAsync(data: data)).Source.EvalCacheKey(clip));

        // Another geometry, another file of the same clip, the same file changed: other keys.
        Assert.NotEqual(key, (await OpenAsync("base", data)).Source.EvalCacheKey(clip));
        Assert.NotEqual(key, (await OpenAsync()).Source.EvalCacheKey(clip));
        var path = Path.Combine(data, clip.RelativePath);
        File.SetLastWriteTimeUtc(path, File.GetLastWriteTimeUtc(path).AddSeconds(1));
        Assert.NotEqual(key, source.EvalCacheKey(clip));
        File.Delete(path);
        Assert.Null(source.EvalCacheKey(clip));
    }

    [Fact]
    public async Task AFailedClipIsNotKept_AndADamagedEntryIsAMiss()
    {
        var (source, clip, _) = await OpenAsync();
        var dir = TestData.TempDir();
        var cache = new EvalFeatureCache(dir);
        await cache.WriteAsync("failed", new ClipOutcome(clip, null, null, 0, "Corrupt", "unreadable", "decode"), CancellationToken.None);
        Assert.Empty(Directory.GetFiles(dir));

        await File.WriteAllTextAsync(Path.Combine(dir, "damaged.parquet"), "PAR1 not really");
        Assert.Null(await cache.TryReadAsync("damaged", clip, CancellationToken.None));
        // A damaged entry is decoded again and rewritten whole.
        var decoded = await source.EvalAsync(clip, CancellationToken.None);
        await cache.WriteAsync("damaged", decoded, CancellationToken.None);
        Assert.Equal(decoded.VideoPatches, (await cache.TryReadAsync("damaged", clip, CancellationToken.None))!.VideoPatches);
        Assert.Single(Directory.GetFiles(dir));
    }
}
