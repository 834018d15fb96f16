using Parquet.Serialization;
using Stella.Continual.Memory;

namespace Stella.Continual.Tests;

public sealed class ParquetMemoryStoreTests
{
    private static string TempDir()
    {
        return Stella.Tests.Shared.TestTemp.Dir();
    }

    private static List<MemoryItem> Items(int count, int seed)
    {
        var rng = new Random(seed);
        float[] F(int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
        return Enumerable.Range(0, count).Select(i => new MemoryItem
        {
            Slot = i, ClipId = $"clip-{seed}-{i}", Task = i % 3,
            AudioPatches = F(64), VideoPatches = F(96), AudioIndices = [i, i + 1], VideoIndices = [2 * i],
            PooledAudio = F(8), PooledVideo = F(8), QueryAudio = F(4), QueryVideo = F(4),
            ImportanceAudio = F(4), ImportanceVideo = F(6), CorrelationAudio = F(4), CorrelationVideo = F(6),
        }).ToList();
    }

    private static void AssertSame(IReadOnlyList<MemoryItem> expected, IReadOnlyList<MemoryItem> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var (e, a) = (expected[i], actual[i]);
            Assert.Equal((e.Slot, e.ClipId, e.Task), (a.Slot, a.ClipId, a.Task));
            Assert.Equal(e.AudioPatches, a.AudioPatches);
            Assert.Equal(e.VideoPatches, a.VideoPatches);
            Assert.Equal(e.AudioIndices, a.AudioIndices);
            Assert.Equal(e.VideoIndices, a.VideoIndices);
            Assert.Equal(e.PooledAudio, a.PooledAudio);
            Assert.Equal(e.QueryVideo, a.QueryVideo);
            Assert.Equal(e.ImportanceVideo, a.ImportanceVideo);
            Assert.Equal(e.CorrelationAudio, a.CorrelationAudio);
        }
    }

    [Fact]
    public async Task WriteThenRead_GivesTheSameItems_AcrossShards()
    {
        var dir = TempDir();
        var store = new ParquetMemoryStore(dir, "hash-a", rowsPerShard: 4);
        var items = Items(10, 1);
        await store.WriteAsync(items);
        Assert.Equal(3, Directory.GetFiles(dir, "memory-*.parquet").Length);
        AssertSame(items, await store.ReadAsync());
    }

    [Fact]
    public async Task WriteThenRead_ItemsOfTheTinyModelsSize_RoundTrip()
    {
        // 262,144 floats of patches per item, as the tiny preset stores: the size at which Parquet lists were unusable.
        var dir = TempDir();
        var rng = new Random(7);
        var items = Enumerable.Range(0, 4).Select(i => new MemoryItem
        {
            Slot = i, ClipId = $"big-{i}", AudioPatches = Enumerable.Range(0, 65_536).Select(_ => (float)rng.NextDouble()).ToArray(),
            VideoPatches = Enumerable.Range(0, 196_608).Select(_ => (float)rng.NextDouble()).ToArray(),
        }).ToList();
        var store = new ParquetMemoryStore(dir, "hash-a");
        await store.WriteAsync(items);
        AssertSame(items, await store.ReadAsync());
    }

    [Fact]
    public async Task Rewrite_ReplacesTheMemory_AndRemovesOldShards()
    {
        var dir = TempDir();
        var store = new ParquetMemoryStore(dir, "hash-a", rowsPerShard: 4);
        await store.WriteAsync(Items(10, 1));
        var second = Items(3, 2);
        await store.WriteAsync(second);
        AssertSame(second, await store.ReadAsync());
        Assert.Single(Directory.GetFiles(dir, "memory-*"));
    }

    [Theory]
    [InlineData("shards")]
    [InlineData("index-temp")]
    public async Task KillBeforeTheIndexRename_LeavesThePreviousMemory(string stage)
    {
        var dir = TempDir();
        var first = Items(5, 1);
        await new ParquetMemoryStore(dir, "hash-a", 2).WriteAsync(first);

        var crashing = new ParquetMemoryStore(dir, "hash-a", 2) { OnStage = s => { if (s == stage) throw new IOException("killed"); } };
        await Assert.ThrowsAsync<IOException>(() => crashing.WriteAsync(Items(7, 2)));

        var store = new ParquetMemoryStore(dir, "hash-a", 2);
        AssertSame(first, await store.ReadAsync());
        var third = Items(4, 3);
        await store.WriteAsync(third);
        AssertSame(third, await store.ReadAsync());
        Assert.Equal(2, Directory.GetFiles(dir, "memory-*").Length);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public async Task Read_OtherConfig_IsRefusedByName()
    {
        var dir = TempDir();
        await new ParquetMemoryStore(dir, "hash-a").WriteAsync(Items(2, 1));
        var e = await Assert.ThrowsAsync<MemoryFileException>(() => new ParquetMemoryStore(dir, "hash-b").ReadAsync());
        Assert.EndsWith("index.json", e.File);
        Assert.Contains("another config (hash hash-a, this run hash-b)", e.Message);
    }

    [Fact]
    public async Task Read_ShardOfAnotherSchemaVersion_IsRefusedByName()
    {
        var dir = TempDir();
        var store = new ParquetMemoryStore(dir, "hash-a");
        await store.WriteAsync(Items(2, 1));
        var shard = Directory.GetFiles(dir, "memory-*.parquet").Single();
        await ParquetSerializer.SerializeAsync(Items(2, 1).Select(MemoryRow.From), shard, null, new Dictionary<string, string> { [ParquetMemoryStore.VersionKey] = "0", [ParquetMemoryStore.ConfigHashKey] = "hash-a" });
        var e = await Assert.ThrowsAsync<MemoryFileException>(() => store.ReadAsync());
        Assert.Equal(shard, e.File);
        Assert.Contains("schema version 0, this build reads version 1", e.Message);
    }

    [Fact]
    public async Task Read_TruncatedShard_IsRefusedByName()
    {
        var dir = TempDir();
        var store = new ParquetMemoryStore(dir, "hash-a");
        await store.WriteAsync(Items(6, 1));
        var shard = Directory.GetFiles(dir, "memory-*.parquet").Single();
        var bytes = await File.ReadAllBytesAsync(shard);
        await File.WriteAllBytesAsync(shard, bytes[..(bytes.Length / 2)]);
        var e = await Assert.ThrowsAsync<MemoryFileException>(() => store.ReadAsync());
        Assert.Equal(shard, e.File);
        Assert.Contains("damaged", e.Message);
    }

    [Fact]
    public async Task Read_CorruptIndex_IsRefusedByName()
    {
        var dir = TempDir();
        var store = new ParquetMemoryStore(dir, "hash-a");
        await store.WriteAsync(Items(1, 1));
        await File.WriteAllTextAsync(store.IndexPath, "{ not json");
        var e = await Assert.ThrowsAsync<MemoryFileException>(() => store.ReadAsync());
        Assert.Contains("not a valid memory index", e.Message);
    }

    [Fact]
    public async Task Shards_AreReadableByAnIndependentReader()
    {
        var dir = TempDir();
        var items = Items(3, 5);
        await new ParquetMemoryStore(dir, "hash-a").WriteAsync(items);
        var shard = Directory.GetFiles(dir, "memory-*.parquet").Single();

        using var reader = new ParquetSharp.ParquetFileReader(shard);
        var meta = reader.FileMetaData;
        Assert.Equal(3, meta.NumRows);
        Assert.Equal("1", meta.KeyValueMetadata[ParquetMemoryStore.VersionKey]);
        Assert.Equal("hash-a", meta.KeyValueMetadata[ParquetMemoryStore.ConfigHashKey]);
        var columns = Enumerable.Range(0, meta.Schema.NumColumns).Select(i => meta.Schema.Column(i).Path.ToDotString()).ToList();
        Assert.Contains(columns, c => c.StartsWith("AudioPatches", StringComparison.Ordinal));

        using var group = reader.RowGroup(0);
        var clipColumn = columns.FindIndex(c => c == "ClipId");
        var clipIds = group.Column(clipColumn).LogicalReader<string>().ReadAll(3);
        Assert.Equal(items.Select(i => i.ClipId), clipIds);
        var audioColumn = columns.FindIndex(c => c.StartsWith("AudioPatches", StringComparison.Ordinal));
        var audio = group.Column(audioColumn).LogicalReader<byte[]>().ReadAll(3);
        Assert.Equal(items[1].AudioPatches, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(audio[1]).ToArray());
        Assert.StartsWith("binary little-endian float32", meta.KeyValueMetadata[ParquetMemoryStore.EncodingKey]);
    }
}
