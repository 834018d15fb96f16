namespace Stella.Pipeline.Telemetry;

/// <summary>
/// Live counters of a stream-train job, written by the graph's blocks and read by the display from another thread. Rates are
/// measured over a sliding window of the last 30 s, so they follow the current task rather than the whole run. The window is fed
/// at every learner step and at every reading, so the rate and the ETA are there from the first reading after a step, however
/// seldom the progress is read (a log line every N steps, no live display). <paramref name="time"/>: the clock (default: the
/// system's).
/// </summary>
public sealed class StreamProgress(TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly long _started = (time ?? TimeProvider.System).GetTimestamp();
    private readonly object _gate = new();
    private readonly Queue<(double Time, long Decoded, long Trained)> _window = new();
    private long _decoded;
    private long _trained;
    private long _done;
    private volatile string _phase = "preparing";
    private int _task;
    private int _tasks;
    private long _step;
    private long _total;
    private double _loss = double.NaN;
    private int _quarantined;
    private Func<(int Decode, int Batch, int Train)> _queues = () => (0, 0, 0);

    /// <summary>Sets the phase shown.</summary>
    public void SetPhase(string phase) => _phase = phase;

    /// <summary>Sets the stream's size: tasks, and clips this process will take.</summary>
    public void SetPlan(int tasks, long clips)
    {
        _tasks = tasks;
        Interlocked.Exchange(ref _total, clips);
    }

    /// <summary>Starts a task; <paramref name="queues"/> reads the graph's queue depths.</summary>
    public void StartTask(int task, Func<(int Decode, int Batch, int Train)> queues)
    {
        Volatile.Write(ref _task, task);
        _queues = queues;
        _phase = "training";
        Sample();
    }

    /// <summary>A clip left the decode stage.</summary>
    public void Decoded() => Interlocked.Increment(ref _decoded);

    /// <summary>A clip was quarantined.</summary>
    public void Quarantined()
    {
        Interlocked.Increment(ref _quarantined);
        Interlocked.Increment(ref _done);
    }

    /// <summary>The learner finished a step on <paramref name="clips"/> clips.</summary>
    public void Stepped(long step, int clips, double loss)
    {
        Interlocked.Exchange(ref _step, step);
        Interlocked.Add(ref _trained, clips);
        Interlocked.Add(ref _done, clips);
        Interlocked.Exchange(ref _loss, loss);
        Sample();
    }

    /// <summary>The current reading.</summary>
    public ProgressSnapshot Snapshot()
    {
        var (now, decodeRate, trainRate) = Sample();
        var done = Interlocked.Read(ref _done);
        var total = Interlocked.Read(ref _total);
        var (d, b, t) = _queues();
        TimeSpan? eta = trainRate > 0 && total > done ? TimeSpan.FromSeconds((total - done) / trainRate) : null;
        return new ProgressSnapshot(_phase, Volatile.Read(ref _task), _tasks, Interlocked.Read(ref _step), done, total, decodeRate, trainRate,
            d, b, t, Interlocked.CompareExchange(ref _loss, 0, 0), Volatile.Read(ref _quarantined), now, eta);
    }

    /// <summary>Adds the counters now to the window (dropping readings older than 30 s, keeping two); returns the rates over it.</summary>
    private (TimeSpan Now, double DecodeRate, double TrainRate) Sample()
    {
        lock (_gate)
        {
            // Read under the lock, so the window's times never go backwards when a step and a reading sample at once.
            var now = Now;
            var seconds = now.TotalSeconds;
            var decoded = Interlocked.Read(ref _decoded);
            var trained = Interlocked.Read(ref _trained);
            _window.Enqueue((seconds, decoded, trained));
            while (_window.Count > 2 && seconds - _window.Peek().Time > 30)
            {
                _window.Dequeue();
            }

            var first = _window.Peek();
            var span = seconds - first.Time;
            return span <= 0 ? (now, 0, 0) : (now, (decoded - first.Decoded) / span, (trained - first.Trained) / span);
        }
    }

    private TimeSpan Now => _time.GetElapsedTime(_started);
}
