using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Parquet.Serialization;

namespace Stella.Continual.Memory;

/// <summary>
/// The rehearsal memory on disk: Parquet shards (readable by any Parquet reader) plus <c>index.json</c>, which names the live
/// shards. Every file is written to a temporary name and renamed; the rename of the index is the commit, so a run killed at any
/// point leaves either the previous memory or the new one, never a mix. Each shard carries the schema version and the run's
/// config hash in its key-value metadata; a shard of another version or config, or a damaged one, is refused by name.
/// </summary>
public sealed class ParquetMemoryStore
{
    /// <summary>Version of the row layout (<see cref="MemoryItem"/>).</summary>
    public const int SchemaVersion = 1;

    /// <summary>Metadata key of the schema version.</summary>
    public const string VersionKey = "stella.memory.schema_version";

    /// <summary>Metadata key that says how array columns are encoded.</summary>
    public const string EncodingKey = "stella.memory.encoding";

    /// <summary>The encoding of array columns: binary, little-endian float32 (index columns int32).</summary>
    public const string Encoding = "binary little-endian float32; AudioIndices/VideoIndices int32";

    /// <summary>Metadata key of the config hash.</summary>
    public const string ConfigHashKey = "stella.config_hash";

    /// <summary>Name of the index file.</summary>
    public const string IndexFileName = "index.json";

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    private readonly string _dir;
    private readonly string _configHash;
    private readonly int _rowsPerShard;

    /// <summary>Creates a store in <paramref name="directory"/> for a run whose settings hash to <paramref name="configHash"/>.</summary>
    public ParquetMemoryStore(string directory, string configHash, int rowsPerShard = 512)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rowsPerShard);
        _dir = directory;
        _configHash = configHash;
        _rowsPerShard = rowsPerShard;
    }

    /// <summary>Test hook: called with the name of each stage of a write ("shards", "index-temp"), to simulate a kill there.</summary>
    internal Action<string>? OnStage { get; set; }

    /// <summary>Path of the index.</summary>
    public string IndexPath => Path.Combine(_dir, IndexFileName);

    /// <summary>Writes <paramref name="items"/> as the new memory, replacing the previous one atomically.</summary>
    public async Task WriteAsync(IReadOnlyList<MemoryItem> items, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(_dir);
        var previous = File.Exists(IndexPath) ? ReadIndex() : null;
        var generation = (previous?.Generation ?? 0) + 1;
        var metadata = new Dictionary<string, string>
        {
            [VersionKey] = SchemaVersion.ToString(CultureInfo.InvariantCulture),
            [ConfigHashKey] = _configHash,
            [EncodingKey] = Encoding,
        };
        var shards = new List<ShardEntry>();
        for (var start = 0; start < items.Count || (start == 0 && items.Count == 0); start += _rowsPerShard)
        {
            var rows = items.Skip(start).Take(_rowsPerShard).ToList();
            var name = string.Create(CultureInfo.InvariantCulture, $"memory-g{generation:D6}-{shards.Count:D4}.parquet");
            var path = Path.Combine(_dir, name);
            var temp = path + ".tmp";
            await ParquetSerializer.SerializeAsync(rows.Select(MemoryRow.From), temp, null, metadata, cancellationToken).ConfigureAwait(false);
            File.Move(temp, path, overwrite: true);
            shards.Add(new ShardEntry(name, rows.Count));
            if (items.Count == 0)
            {
                break;
            }
        }

        OnStage?.Invoke("shards");
        var index = new IndexFile(SchemaVersion, _configHash, generation, items.Count, shards);
        var indexTemp = IndexPath + ".tmp";
        await File.WriteAllTextAsync(indexTemp, JsonSerializer.Serialize(index, JsonOptions), cancellationToken).ConfigureAwait(false);
        OnStage?.Invoke("index-temp");
        File.Move(indexTemp, IndexPath, overwrite: true);

        // Committed: files of older generations (and leftovers of killed writes) are no longer referenced.
        var live = shards.Select(s => s.File).ToHashSet(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(_dir, "memory-*.parquet*"))
        {
            if (!live.Contains(Path.GetFileName(file)))
            {
                File.Delete(file);
            }
        }
    }

    /// <summary>Reads the memory named by the index (empty when there is no index yet).</summary>
    public async Task<IReadOnlyList<MemoryItem>> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(IndexPath))
        {
            return [];
        }

        var index = ReadIndex();
        var items = new List<MemoryItem>(index.Items);
        foreach (var shard in index.Shards)
        {
            var path = Path.Combine(_dir, shard.File);
            if (!File.Exists(path))
            {
                throw new MemoryFileException(path, "listed in index.json but missing");
            }

            try
            {
                var result = await ParquetSerializer.DeserializeAsync<MemoryRow>(path, cancellationToken: cancellationToken).ConfigureAwait(false);
                CheckMetadata(path, result.CustomMetadata);
                if (result.Data.Count != shard.Rows)
                {
                    throw new MemoryFileException(path, $"holds {result.Data.Count} rows, index.json says {shard.Rows}");
                }

                items.AddRange(result.Data.Select(r => r.ToItem()));
            }
            catch (Exception e) when (e is not MemoryFileException and not OperationCanceledException)
            {
                throw new MemoryFileException(path, $"damaged (truncated or not a Parquet file): {e.Message}", e);
            }
        }

        return items;
    }

    private void CheckMetadata(string path, IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue(VersionKey, out var version) || version != SchemaVersion.ToString(CultureInfo.InvariantCulture))
        {
            throw new MemoryFileException(path, $"schema version {version ?? "missing"}, this build reads version {SchemaVersion}");
        }

        if (!metadata.TryGetValue(ConfigHashKey, out var hash) || hash != _configHash)
        {
            throw new MemoryFileException(path, $"written by a run with another config (hash {hash ?? "missing"}, this run {_configHash}); use a new --out or the matching config");
        }
    }

    private IndexFile ReadIndex()
    {
        IndexFile? index;
        try
        {
            index = JsonSerializer.Deserialize<IndexFile>(File.ReadAllText(IndexPath), JsonOptions);
        }
        catch (JsonException e)
        {
            throw new MemoryFileException(IndexPath, $"not a valid memory index: {e.Message}", e);
        }

        if (index is null || index.Shards is null)
        {
            throw new MemoryFileException(IndexPath, "empty memory index");
        }

        if (index.SchemaVersion != SchemaVersion)
        {
            throw new MemoryFileException(IndexPath, $"schema version {index.SchemaVersion}, this build reads version {SchemaVersion}");
        }

        if (index.ConfigHash != _configHash)
        {
            throw new MemoryFileException(IndexPath, $"written by a run with another config (hash {index.ConfigHash}, this run {_configHash}); use a new --out or the matching config");
        }

        return index;
    }

    private sealed record IndexFile(
        [property: JsonPropertyName("schema_version")] int SchemaVersion,
        [property: JsonPropertyName("config_hash")] string ConfigHash,
        [property: JsonPropertyName("generation")] long Generation,
        [property: JsonPropertyName("items")] int Items,
        [property: JsonPropertyName("shards")] List<ShardEntry> Shards);

    private sealed record ShardEntry(
        [property: JsonPropertyName("file")] string File,
        [property: JsonPropertyName("rows")] int Rows);
}
