using System.Globalization;
using System.Text.Json;
using Parquet.Serialization;
using Stella.Core.Arrays;

namespace Stella.Coreset;

/// <summary>One row of a Parquet feature shard.</summary>
public sealed class FeatureRow
{
    /// <summary>Row of the whole feature matrix (the clip's position among the manifest's training clips).</summary>
    public long Row { get; set; }

    /// <summary>Clip id.</summary>
    public string Clip { get; set; } = string.Empty;

    /// <summary>Label (class) of the clip.</summary>
    public string Label { get; set; } = string.Empty;

    /// <summary>The feature vector (float32, D values).</summary>
    public float[] Features { get; set; } = [];
}

/// <summary>What a shard's key-value metadata says (key <see cref="FeatureShards.MetadataKey"/>, JSON).</summary>
/// <param name="Schema">Schema version (1).</param>
/// <param name="Dims">D.</param>
/// <param name="TotalRows">N of the whole matrix the shards split.</param>
/// <param name="Shard">This shard's number.</param>
/// <param name="NumShards">How many shards split the matrix.</param>
/// <param name="First">First row of this shard.</param>
/// <param name="Count">Rows in this shard.</param>
public sealed record FeatureShardInfo(int Schema, int Dims, int TotalRows, int Shard, int NumShards, long First, int Count);

/// <summary>
/// A feature matrix split into Parquet shards (what <c>stella extract --shard i --num-shards n</c> writes, one file per shard, each
/// with contiguous rows), and its assembly into one float32 .npy: COINCIDE reads rows in any order (a cluster's members), which
/// Parquet's row groups make slow, so a shard folder is converted once, streaming, into a file next to the job's output.
/// </summary>
public static class FeatureShards
{
    /// <summary>Key-value metadata key.</summary>
    public const string MetadataKey = "stella.features";

    /// <summary>Schema version written.</summary>
    public const int Schema = 1;

    /// <summary>The file name of shard <paramref name="shard"/> of <paramref name="numShards"/>.</summary>
    public static string FileName(int shard, int numShards) => string.Create(CultureInfo.InvariantCulture, $"features-{shard:D5}-of-{numShards:D5}.parquet");

    /// <summary>The rows [first, first + count) of shard <paramref name="shard"/> when <paramref name="total"/> rows are split into <paramref name="numShards"/> contiguous parts.</summary>
    public static (int First, int Count) Range(int total, int shard, int numShards)
    {
        if (numShards < 1 || shard < 0 || shard >= numShards)
        {
            throw new ArgumentException($"--shard must be in [0, --num-shards) and --num-shards >= 1 (got shard {shard} of {numShards})");
        }

        var first = (int)((long)total * shard / numShards);
        var next = (int)((long)total * (shard + 1) / numShards);
        return (first, next - first);
    }

    /// <summary>Writes one shard (atomically: a temporary file, then a rename).</summary>
    public static async Task WriteAsync(string folder, int shard, int numShards, int totalRows, IReadOnlyList<FeatureRow> rows, CancellationToken ct = default)
    {
        var dims = rows.Count > 0 ? rows[0].Features.Length : 0;
        if (rows.Any(r => r.Features.Length != dims))
        {
            throw new ArgumentException("feature rows of different widths in one shard");
        }

        Directory.CreateDirectory(folder);
        var info = new FeatureShardInfo(Schema, dims, totalRows, shard, numShards, rows.Count > 0 ? rows[0].Row : Range(totalRows, shard, numShards).First, rows.Count);
        var metadata = new Dictionary<string, string> { [MetadataKey] = JsonSerializer.Serialize(info) };
        var path = Path.Combine(folder, FileName(shard, numShards));
        var temp = path + ".tmp";
        await ParquetSerializer.SerializeAsync(rows, temp, null, metadata, ct).ConfigureAwait(false);
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>
    /// Assembles the shards of <paramref name="folder"/> into a float32 .npy at <paramref name="npyPath"/> (plus .clips.txt and
    /// .labels.txt), one shard in memory at a time. Refuses, naming the file: a shard of another split or width, a damaged file,
    /// rows outside [0, N), a row twice, and rows no shard holds (with the missing shard files named).
    /// </summary>
    public static async Task<(int Rows, int Dims)> ToNpyAsync(string folder, string npyPath, Action<string> log, CancellationToken ct = default)
    {
        var files = Directory.GetFiles(folder, "*.parquet").Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0)
        {
            throw new FileNotFoundException($"{folder}: no Parquet feature shards (*.parquet) in the folder");
        }

        FeatureShardInfo? first = null;
        var seen = new HashSet<int>();
        bool[]? covered = null;
        string[]? clips = null, labels = null;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(npyPath))!);
        var temp = npyPath + ".tmp";
        using (var handle = File.OpenHandle(temp, FileMode.Create, FileAccess.Write))
        {
            long dataOffset = 0;
            foreach (var file in files)
            {
                IList<FeatureRow> rows;
                IReadOnlyDictionary<string, string> custom;
                try
                {
                    var result = await ParquetSerializer.DeserializeAsync<FeatureRow>(file, cancellationToken: ct).ConfigureAwait(false);
                    rows = result.Data;
                    custom = result.CustomMetadata;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    throw new InvalidDataException($"{file}: damaged (truncated or not a Parquet file): {e.Message}", e);
                }

                if (!custom.TryGetValue(MetadataKey, out var json))
                {
                    throw new InvalidDataException($"{file}: not a feature shard (no '{MetadataKey}' metadata)");
                }

                var info = JsonSerializer.Deserialize<FeatureShardInfo>(json) ?? throw new InvalidDataException($"{file}: empty '{MetadataKey}' metadata");
                if (info.Schema != Schema)
                {
                    throw new InvalidDataException($"{file}: feature shard schema {info.Schema}, this version reads {Schema}");
                }

                if (first is null)
                {
                    first = info;
                    if (info.Dims < 1 || info.TotalRows < 1)
                    {
                        throw new InvalidDataException($"{file}: {info.TotalRows} rows of width {info.Dims}: nothing to select from");
                    }

                    covered = new bool[info.TotalRows];
                    clips = new string[info.TotalRows];
                    labels = new string[info.TotalRows];
                    var header = new MemoryStream();
                    Npy.WriteHeader(header, "<f4", info.TotalRows, info.Dims);
                    RandomAccess.Write(handle, header.ToArray(), 0);
                    dataOffset = header.Length;
                }
                else if (info.Dims != first.Dims || info.TotalRows != first.TotalRows || info.NumShards != first.NumShards)
                {
                    throw new InvalidDataException($"{file}: shard of {info.TotalRows} rows x {info.Dims} in {info.NumShards} shards, but {Path.GetFileName(files[0])} is of {first.TotalRows} x {first.Dims} in {first.NumShards}: shards of different extractions in one folder");
                }

                if (!seen.Add(info.Shard))
                {
                    throw new InvalidDataException($"{file}: shard {info.Shard} appears twice in {folder}");
                }

                if (rows.Count != info.Count)
                {
                    throw new InvalidDataException($"{file}: holds {rows.Count} rows, its metadata says {info.Count}");
                }

                foreach (var row in rows)
                {
                    if (row.Row < 0 || row.Row >= first.TotalRows)
                    {
                        throw new InvalidDataException($"{file}: row {row.Row} outside [0, {first.TotalRows})");
                    }

                    if (row.Features.Length != first.Dims)
                    {
                        throw new InvalidDataException($"{file}: row {row.Row} has {row.Features.Length} values, expected {first.Dims}");
                    }

                    if (covered![row.Row])
                    {
                        throw new InvalidDataException($"{file}: row {row.Row} is also in another shard");
                    }

                    covered[row.Row] = true;
                    clips![row.Row] = row.Clip;
                    labels![row.Row] = row.Label;
                    var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.Features.AsSpan());
                    RandomAccess.Write(handle, bytes, dataOffset + (row.Row * first.Dims * 4L));
                }
            }

            var missingRows = Enumerable.Range(0, first!.TotalRows).Where(r => !covered![r]).ToList();
            if (missingRows.Count > 0)
            {
                var missingShards = Enumerable.Range(0, first.NumShards).Where(s => !seen.Contains(s)).Select(s => FileName(s, first.NumShards)).ToList();
                throw new InvalidDataException(
                    $"{folder}: {missingRows.Count} of {first.TotalRows} rows are in no shard (first: row {missingRows[0]})" +
                    (missingShards.Count > 0 ? $"; missing shard files: {string.Join(", ", missingShards)}" : string.Empty));
            }
        }

        File.Move(temp, npyPath, overwrite: true);
        await File.WriteAllLinesAsync(npyPath + ".clips.txt", clips!, ct).ConfigureAwait(false);
        await File.WriteAllLinesAsync(npyPath + ".labels.txt", labels!, ct).ConfigureAwait(false);
        log($"assembled {files.Length} feature shards of {folder} into {npyPath} ({first.TotalRows} x {first.Dims})");
        return (first.TotalRows, first.Dims);
    }
}
