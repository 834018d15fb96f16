using Parquet.Serialization;
using Stella.Core.Manifests;

namespace Stella.Pipeline;

/// <summary>
/// Featurized evaluation-window clips (retrieval and linear-probe sets) kept on disk between jobs, one Parquet file a clip named by
/// a key of everything that makes its patches: the file (full path, size, modification time), the model geometry, the decode
/// settings, the normalization and the ffmpeg build (<see cref="Sources.IClipSource.EvalCacheKey"/>). A run, its resumed
/// continuations, the warm-up phases before it and later runs on the same clip files decode each evaluation clip once instead of
/// once a job (the default benchmark's 204 retrieval clips took about 70 s a job on 2 cores). Failed clips are not kept: they are
/// decoded, and quarantined, each time. Writes are atomic (temporary file, rename), so processes side by side share the folder; a
/// damaged entry is decoded again. Best effort: a folder that cannot be read or written (a full disk, a file in its place) is said
/// once through <paramref name="log"/> and then behaves as a miss; no call of this class ever costs a clip.
/// </summary>
public sealed class EvalFeatureCache(string directory, Action<string>? log = null)
{
    private int _failed;

    /// <summary>The version of the featurization: raise it when decoding, the fbank or patching change what a clip becomes.</summary>
    public const int Version = 1;

    /// <summary>The folder.</summary>
    public string Directory { get; } = directory;

    /// <summary>The cached outcome of <paramref name="clip"/> under <paramref name="key"/>, or null.</summary>
    public async Task<ClipOutcome?> TryReadAsync(string key, ClipRecord clip, CancellationToken ct)
    {
        var path = PathOf(key);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            var rows = (await ParquetSerializer.DeserializeAsync<Row>(path, cancellationToken: ct).ConfigureAwait(false)).Data;
            return rows is [var row] && row.Key == key && row.ClipId == clip.ClipId
                ? new ClipOutcome(clip, Shards.PatchRow.Floats(row.AudioPatches), Shards.PatchRow.Floats(row.VideoPatches), row.VideoStart, null, null)
                : null;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or Parquet.ParquetException or ArgumentException or InvalidOperationException)
        {
            return null; // a damaged entry (a disk filled up, a foreign file): decoded again and rewritten
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Failed(e);
            return null;
        }
    }

    /// <summary>Keeps a successful <paramref name="outcome"/> under <paramref name="key"/>.</summary>
    public async Task WriteAsync(string key, ClipOutcome outcome, CancellationToken ct)
    {
        if (!outcome.Ok)
        {
            return;
        }

        var path = PathOf(key);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        var row = new Row
        {
            Key = key, ClipId = outcome.Clip.ClipId, VideoStart = outcome.VideoStart,
            AudioPatches = Shards.PatchRow.Bytes(outcome.AudioPatches!), VideoPatches = Shards.PatchRow.Bytes(outcome.VideoPatches!),
        };
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            await ParquetSerializer.SerializeAsync([row], temp, cancellationToken: ct).ConfigureAwait(false);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Failed(e);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    private void Failed(Exception e)
    {
        if (Interlocked.Exchange(ref _failed, 1) == 0)
        {
            log?.Invoke($"note: the evaluation-clip cache {Directory} failed ({e.GetType().Name}: {e.Message}); clips are decoded without it");
        }
    }

    private string PathOf(string key) => Path.Combine(Directory, $"{key}.parquet");

    /// <summary>One cached clip.</summary>
    internal sealed class Row
    {
        public string Key { get; set; } = string.Empty;

        public string ClipId { get; set; } = string.Empty;

        public double VideoStart { get; set; }

        public byte[] AudioPatches { get; set; } = [];

        public byte[] VideoPatches { get; set; } = [];
    }
}
