using System.Collections.Concurrent;
using Stella.Core.Manifests;

namespace Stella.Pipeline;

/// <summary>
/// Featurized clips keyed by their training window (task, index among the task's distinct clips). It serves two purposes: later
/// epochs of a task reuse the first epoch's features (<c>keep</c>), and the next task's first clips are decoded ahead while the
/// learner trains on the current task (<see cref="PrefetchAsync"/>), so the trainer does not wait for ffmpeg at a task boundary.
/// Without <c>keep</c> an entry is dropped once it has been taken, so memory stays bounded by the read-ahead. Each clip's features
/// depend only on its key, so prefetching changes timing, never results. With augmentation on, an entry holds the clip's
/// <see cref="ClipOutcome.Material"/> (the media each epoch's input is made from) and not the first epoch's patches.
/// </summary>
internal sealed class FeatureCache(Func<int, int, ClipRecord, CancellationToken, Task<ClipOutcome>> featurize, bool keep)
{
    private readonly ConcurrentDictionary<(int Task, int Index), Lazy<Task<ClipOutcome>>> _entries = new();

    /// <summary>The cached (or read-ahead) features of window (<paramref name="task"/>, <paramref name="index"/>), if any.</summary>
    public bool TryTake(int task, int index, out Task<ClipOutcome> outcome)
    {
        var found = keep ? _entries.TryGetValue((task, index), out var entry) : _entries.TryRemove((task, index), out entry);
        outcome = found ? entry!.Value : Task.FromResult<ClipOutcome>(null!);
        return found;
    }

    /// <summary>Keeps a finished clip for later epochs (when the cache keeps entries).</summary>
    public void Put(int task, int index, ClipOutcome outcome)
    {
        if (keep)
        {
            _entries.TryAdd((task, index), new Lazy<Task<ClipOutcome>>(Task.FromResult(Kept(outcome))));
        }
    }

    /// <summary>Decodes the first <paramref name="count"/> clips of <paramref name="task"/> ahead, <paramref name="workers"/> at a time.</summary>
    public Task PrefetchAsync(int task, IReadOnlyList<ClipRecord> clips, int count, int workers, CancellationToken ct) =>
        Parallel.ForEachAsync(
            Enumerable.Range(0, Math.Min(count, clips.Count)),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, workers), CancellationToken = ct },
            async (i, token) => await _entries.GetOrAdd((task, i), _ => new Lazy<Task<ClipOutcome>>(async () => Kept(await featurize(task, i, clips[i], token).ConfigureAwait(false)))).Value.ConfigureAwait(false));

    // An augmented clip is made anew from its material every epoch: its patches are not kept.
    private static ClipOutcome Kept(ClipOutcome outcome) => outcome.Material is null ? outcome : outcome with { AudioPatches = null, VideoPatches = null };

    /// <summary>Drops every entry of tasks before <paramref name="task"/>.</summary>
    public void DropBefore(int task)
    {
        foreach (var key in _entries.Keys.Where(k => k.Task < task))
        {
            _entries.TryRemove(key, out _);
        }
    }
}
