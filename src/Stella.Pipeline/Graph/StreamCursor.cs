using Stella.Continual.Checkpoints;

namespace Stella.Pipeline.Graph;

/// <summary>
/// The one owner of the stream position. A clip is consumed when it was trained on or quarantined; the position a checkpoint saves
/// is the first clip not yet consumed. Bad clips leave the graph by the quarantine branch while good clips before and after them
/// still wait in the batching stage, so the cursor moves only when a step completes, to just past the step's last clip, and a step
/// starts only once every failed clip before its last one is written to quarantine.csv (<see cref="WhenQuarantinedBeforeAsync"/>):
/// whatever a checkpoint's position covers is trained on or on record, and nothing past it is.
/// </summary>
public sealed class StreamCursor(StreamPosition start)
{
    private readonly Lock _gate = new();
    private readonly SortedSet<int> _failing = [];
    private readonly List<(int Before, TaskCompletionSource Done)> _waiters = [];
    private bool _abandoned;

    /// <summary>The committed position: the next clip to read.</summary>
    public StreamPosition Position { get; private set; } = start;

    /// <summary>A per-clip stage failed the clip at stream index <paramref name="index"/>; it is on its way to the quarantine.</summary>
    public void Failing(int index)
    {
        lock (_gate)
        {
            _failing.Add(index);
        }
    }

    /// <summary>The failed clip at <paramref name="index"/> is written to quarantine.csv.</summary>
    public void Quarantined(int index)
    {
        lock (_gate)
        {
            _failing.Remove(index);
            Release();
        }
    }

    /// <summary>The quarantine branch stopped (its limit tripped): waiters give up instead of waiting for clips it will not write.</summary>
    public void Abandon()
    {
        lock (_gate)
        {
            _abandoned = true;
            Release();
        }
    }

    /// <summary>
    /// Completes (true) once every failed clip before stream index <paramref name="end"/> is written; false when the quarantine
    /// branch stopped first, in which case the step must not run.
    /// </summary>
    public Task<bool> WhenQuarantinedBeforeAsync(int end)
    {
        lock (_gate)
        {
            if (_abandoned)
            {
                return Task.FromResult(false);
            }

            if (_failing.Count == 0 || _failing.Min >= end)
            {
                return Task.FromResult(true);
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((end, done));
            return done.Task.ContinueWith(_ => !Volatile.Read(ref _abandoned), TaskScheduler.Default);
        }
    }

    /// <summary>A step trained on clips up to stream index <paramref name="end"/> (exclusive) of the current task.</summary>
    public StreamPosition Commit(int end)
    {
        lock (_gate)
        {
            var p = Position;
            if (end < p.ClipOffset)
            {
                throw new InvalidOperationException($"stream cursor: a step ending at clip {end} after position {p.ClipOffset}");
            }

            return Position = p with { ClipOffset = end, SamplesSeen = p.SamplesSeen + (end - p.ClipOffset) };
        }
    }

    /// <summary>The task of <paramref name="clips"/> stream clips is done (trailing quarantined clips included): on to the next.</summary>
    public StreamPosition EndTask(int clips)
    {
        lock (_gate)
        {
            var p = Position;
            _failing.Clear();
            return Position = new StreamPosition(p.Task + 1, 0, p.SamplesSeen + Math.Max(0, clips - p.ClipOffset));
        }
    }

    private void Release()
    {
        foreach (var w in _waiters.Where(w => _abandoned || _failing.Count == 0 || _failing.Min >= w.Before).ToList())
        {
            _waiters.Remove(w);
            w.Done.TrySetResult();
        }
    }
}
