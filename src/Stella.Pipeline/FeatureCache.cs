using System.Collections.Concurrent;
using Parquet.Serialization;
using Stella.Core.Manifests;

namespace Stella.Pipeline;

/// <summary>
/// Featurized clips keyed by their training window (task, index among the task's distinct clips). It serves two purposes: later
/// epochs of a task reuse the first epoch's features (<c>keep</c>), and the next task's first clips are decoded ahead while the
/// learner trains on the current task (<see cref="PrefetchAsync"/>), so the trainer does not wait for ffmpeg at a task boundary.
/// Without <c>keep</c> an entry is dropped once it has been taken, so memory stays bounded by the read-ahead. Each clip's features
/// depend only on its key, so prefetching changes timing, never results. With augmentation on, an entry holds the clip's
/// <see cref="ClipOutcome.Material"/> (the media each epoch's input is made from) and not the first epoch's patches.
/// <para>
/// Kept entries count against <c>budgetBytes</c> (the config's <c>epoch_cache_mib</c>): a finished clip that does not fit is
/// written to <c>spillDir</c> (one Parquet file of its float32 patches, Zstd) and read back, bitwise the same, each later epoch,
/// so the cache's memory is bounded by the setting, not by the task's size. Augmented entries (media, not patches) and failed
/// clips always stay in memory.
/// </para>
/// </summary>
public sealed class FeatureCache(Func<int, int, ClipRecord, CancellationToken, Task<ClipOutcome>> featurize, bool keep, long budgetBytes = long.MaxValue, string? spillDir = null)
{
    private static readonly Parquet.ParquetOptions SpillOptions = new() { CompressionMethod = Parquet.CompressionMethod.Zstd, CompressionLevel = System.IO.Compression.CompressionLevel.Fastest };
    private readonly ConcurrentDictionary<(int Task, int Index), Entry> _entries = new();
    private readonly List<Task> _deletes = [];
    private long _bytes;
    private int _spilled;

    /// <summary>Bytes of features held in memory by kept entries.</summary>
    public long BytesInMemory => Interlocked.Read(ref _bytes);

    /// <summary>Entries written to the spill folder so far.</summary>
    public int Spilled => Volatile.Read(ref _spilled);

    /// <summary>The cached (or read-ahead) features of window (<paramref name="task"/>, <paramref name="index"/>), if any.</summary>
    public bool TryTake(int task, int index, out Task<ClipOutcome> outcome)
    {
        var found = keep ? _entries.TryGetValue((task, index), out var entry) : _entries.TryRemove((task, index), out entry);
        outcome = !found ? Task.FromResult<ClipOutcome>(null!) : entry!.Spill is { } spill ? ReadAsync(spill) : entry.InMemory!.Value;
        if (found && !keep && entry!.InMemory is { IsValueCreated: true } taken && taken.Value.IsCompletedSuccessfully)
        {
            Interlocked.Add(ref _bytes, -Bytes(taken.Value.Result));
        }

        return found;
    }

    /// <summary>Keeps a finished clip for later epochs (when the cache keeps entries), in memory or, over the budget, on disk.</summary>
    public void Put(int task, int index, ClipOutcome outcome)
    {
        if (!keep || _entries.ContainsKey((task, index)))
        {
            return;
        }

        var kept = Kept(outcome);
        var size = Bytes(kept);
        if (spillDir is not null && kept is { Ok: true, Material: null } && Interlocked.Read(ref _bytes) + size > budgetBytes)
        {
            // The key is claimed before anything is written, so two Puts of one window never write the same file.
            var path = Path.Combine(spillDir, $"t{task:D3}-{index:D6}.parquet");
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_entries.TryAdd((task, index), new Entry(null, new SpillEntry(task, index, path, kept.Clip, kept.VideoStart, written.Task))))
            {
                Interlocked.Increment(ref _spilled);
                _ = WriteAsync(path, kept).ContinueWith(
                    t => _ = t.Exception is { } e ? written.TrySetException(e.InnerExceptions) : written.TrySetResult(), TaskScheduler.Default);
            }

            return;
        }

        if (_entries.TryAdd((task, index), new Entry(new Lazy<Task<ClipOutcome>>(Task.FromResult(kept)), null)))
        {
            Interlocked.Add(ref _bytes, size);
        }
    }

    /// <summary>Decodes the first <paramref name="count"/> clips of <paramref name="task"/> ahead, <paramref name="workers"/> at a time.</summary>
    public Task PrefetchAsync(int task, IReadOnlyList<ClipRecord> clips, int count, int workers, CancellationToken ct) =>
        Parallel.ForEachAsync(
            Enumerable.Range(0, Math.Min(count, clips.Count)),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, workers), CancellationToken = ct },
            async (i, token) =>
            {
                var entry = _entries.GetOrAdd((task, i), _ => new Entry(
                    new Lazy<Task<ClipOutcome>>(async () =>
                    {
                        var outcome = Kept(await featurize(task, i, clips[i], token).ConfigureAwait(false));
                        Interlocked.Add(ref _bytes, Bytes(outcome));
                        return outcome;
                    }),
                    null));
                if (entry.InMemory is { } lazy)
                {
                    await lazy.Value.ConfigureAwait(false);
                }
            });

    /// <summary>Drops every entry of tasks before <paramref name="task"/> (their spill files too).</summary>
    public void DropBefore(int task)
    {
        foreach (var key in _entries.Keys.Where(k => k.Task < task))
        {
            if (!_entries.TryRemove(key, out var entry))
            {
                continue;
            }

            if (entry.Spill is { } spill)
            {
                lock (_deletes)
                {
                    _deletes.Add(spill.Written.ContinueWith(_ => File.Delete(spill.Path), TaskScheduler.Default));
                }
            }
            else if (entry.InMemory is { IsValueCreated: true } lazy && lazy.Value.IsCompletedSuccessfully)
            {
                Interlocked.Add(ref _bytes, -Bytes(lazy.Value.Result));
            }
        }
    }

    /// <summary>Drops every entry and waits until their spill files are deleted (a file whose write failed has nothing to delete).</summary>
    public async Task ClearAsync()
    {
        DropBefore(int.MaxValue);
        Task[] pending;
        lock (_deletes)
        {
            pending = [.. _deletes];
            _deletes.Clear();
        }

        await Task.WhenAll(pending).ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
    }

    // An augmented clip is made anew from its material every epoch: its patches are not kept.
    private static ClipOutcome Kept(ClipOutcome outcome) => outcome.Material is null ? outcome : outcome with { AudioPatches = null, VideoPatches = null };

    private static long Bytes(ClipOutcome? o) => o is null ? 0 : (((o.AudioPatches?.LongLength ?? 0) + (o.VideoPatches?.LongLength ?? 0)) * sizeof(float)) + (o.Material?.Bytes ?? 0);

    private static async Task WriteAsync(string path, ClipOutcome outcome)
    {
        var row = new Shards.PatchRow
        {
            ClipId = outcome.Clip.ClipId, VideoStart = outcome.VideoStart,
            AudioPatches = Shards.PatchRow.Bytes(outcome.AudioPatches!), VideoPatches = Shards.PatchRow.Bytes(outcome.VideoPatches!),
        };
        await Task.Yield(); // the write runs off the graph's thread
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        await ParquetSerializer.SerializeAsync([row], temp, SpillOptions).ConfigureAwait(false);
        File.Move(temp, path, overwrite: true);
    }

    // A spill that could not be written or read back (a full disk, a deleted or damaged file) costs a decode, never the clip: its
    // features depend only on its window, so featurizing it again gives the same inputs. If that fails too, the clip fails at
    // "read" with the reason (quarantined like any bad clip), never the run.
    private async Task<ClipOutcome> ReadAsync(SpillEntry spill)
    {
        try
        {
            await spill.Written.ConfigureAwait(false);
            var row = (await ParquetSerializer.DeserializeAsync<Shards.PatchRow>(spill.Path).ConfigureAwait(false)).Data.Single();
            return new ClipOutcome(spill.Clip, Shards.PatchRow.Floats(row.AudioPatches), Shards.PatchRow.Floats(row.VideoPatches), spill.VideoStart, null, null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            try
            {
                return Kept(await featurize(spill.Task, spill.Index, spill.Clip, CancellationToken.None).ConfigureAwait(false));
            }
            catch (Exception again) when (again is not OperationCanceledException)
            {
                return Graph.StageGuard.Failure("read", spill.Clip, again);
            }
        }
    }

    private sealed record Entry(Lazy<Task<ClipOutcome>>? InMemory, SpillEntry? Spill);

    private sealed record SpillEntry(int Task, int Index, string Path, ClipRecord Clip, double VideoStart, Task Written);
}
