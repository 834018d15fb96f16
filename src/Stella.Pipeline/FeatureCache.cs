using System.Collections.Concurrent;
using Stella.Core.Manifests;

namespace Stella.Pipeline;

/// <summary>
/// Featurized clips keyed by (task, index among the task's distinct clips). It serves two purposes: later epochs of a task reuse the
/// first epoch's features (<c>keep</c>), and the next task's first clips are decoded ahead while the learner trains on the current
/// task (<see cref="PrefetchAsync"/>), so the trainer does not wait for ffmpeg at a task boundary. Without <c>keep</c> an entry is
/// dropped once it has been taken, so memory stays bounded by the read-ahead. Each clip's features depend only on its key (the
/// frame window's seed is derived from it), so prefetching changes timing, never results.
/// </summary>
internal sealed class FeatureCache(Func<int, int, ClipRecord, CancellationToken, Task<ClipOutcome>> featurize, bool keep)
{
    private readonly ConcurrentDictionary<(int Task, int Index), Lazy<Task<ClipOutcome>>> _entries = new();

    /// <summary>The features of clip <paramref name="index"/> of <paramref name="task"/>, computed once.</summary>
    public Task<ClipOutcome> Take(int task, int index, ClipRecord clip, CancellationToken ct)
    {
        var entry = _entries.GetOrAdd((task, index), _ => new Lazy<Task<ClipOutcome>>(() => featurize(task, index, clip, ct)));
        if (!keep)
        {
            _entries.TryRemove((task, index), out _);
        }

        return entry.Value;
    }

    /// <summary>Entries held now.</summary>
    public int Count => _entries.Count;

    /// <summary>Waits for every entry of <paramref name="task"/> requested so far.</summary>
    public Task WhenTaskReadyAsync(int task) =>
        Task.WhenAll(_entries.Where(e => e.Key.Task == task).Select(e => e.Value.Value));

    /// <summary>Decodes the first <paramref name="count"/> clips of <paramref name="task"/> ahead, <paramref name="workers"/> at a time.</summary>
    public Task PrefetchAsync(int task, IReadOnlyList<ClipRecord> clips, int count, int workers, CancellationToken ct) =>
        Parallel.ForEachAsync(
            Enumerable.Range(0, Math.Min(count, clips.Count)),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, workers), CancellationToken = ct },
            async (i, token) => await _entries.GetOrAdd((task, i), _ => new Lazy<Task<ClipOutcome>>(() => featurize(task, i, clips[i], token))).Value.ConfigureAwait(false));

    /// <summary>Drops every entry of tasks before <paramref name="task"/>.</summary>
    public void DropBefore(int task)
    {
        foreach (var key in _entries.Keys.Where(k => k.Task < task))
        {
            _entries.TryRemove(key, out _);
        }
    }
}
