using System.Diagnostics;

namespace Stella.Pipeline.Telemetry;

/// <summary>One reading of a running stream-train job, for the live display (<see cref="StreamProgress.Snapshot"/>).</summary>
/// <param name="Phase">What the job is doing: preparing, training, evaluating, done.</param>
/// <param name="Task">Current task (0-based).</param>
/// <param name="Tasks">Number of tasks in the stream.</param>
/// <param name="Step">Learner steps so far.</param>
/// <param name="ClipsDone">Clips taken from the stream so far (this process), trained or quarantined.</param>
/// <param name="ClipsTotal">Clips this process still had to take when it started.</param>
/// <param name="DecodedPerSecond">Clips leaving the decode + features stage per second (recent).</param>
/// <param name="TrainedPerSecond">Clips entering the learner per second (recent).</param>
/// <param name="DecodeQueue">Clips waiting for or inside the decode stage.</param>
/// <param name="BatchQueue">Decoded clips waiting to be batched.</param>
/// <param name="TrainQueue">Batches waiting for the learner.</param>
/// <param name="Loss">Last step's total loss (MAE audio + MAE video + weighted contrastive).</param>
/// <param name="Quarantined">Clips quarantined so far.</param>
/// <param name="Elapsed">Time since the job started.</param>
/// <param name="Eta">Estimated time to the end of training (null until there is a rate).</param>
public sealed record ProgressSnapshot(
    string Phase, int Task, int Tasks, long Step, long ClipsDone, long ClipsTotal, double DecodedPerSecond, double TrainedPerSecond,
    int DecodeQueue, int BatchQueue, int TrainQueue, double Loss, int Quarantined, TimeSpan Elapsed, TimeSpan? Eta);

/// <summary>
/// Live counters of a stream-train job, written by the graph's blocks and read by the display from another thread. Rates are
/// measured over a sliding window of the last 30 s, so they follow the current task rather than the whole run.
/// </summary>
public sealed class StreamProgress
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
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
    }

    /// <summary>The current reading.</summary>
    public ProgressSnapshot Snapshot()
    {
        var now = _clock.Elapsed.TotalSeconds;
        var decoded = Interlocked.Read(ref _decoded);
        var trained = Interlocked.Read(ref _trained);
        double decodeRate, trainRate;
        lock (_gate)
        {
            _window.Enqueue((now, decoded, trained));
            while (_window.Count > 2 && now - _window.Peek().Time > 30)
            {
                _window.Dequeue();
            }

            var first = _window.Peek();
            var span = Math.Max(1e-9, now - first.Time);
            decodeRate = _window.Count < 2 ? 0 : (decoded - first.Decoded) / span;
            trainRate = _window.Count < 2 ? 0 : (trained - first.Trained) / span;
        }

        var done = Interlocked.Read(ref _done);
        var total = Interlocked.Read(ref _total);
        var (d, b, t) = _queues();
        TimeSpan? eta = trainRate > 0 && total > done ? TimeSpan.FromSeconds((total - done) / trainRate) : null;
        return new ProgressSnapshot(_phase, Volatile.Read(ref _task), _tasks, Interlocked.Read(ref _step), done, total, decodeRate, trainRate,
            d, b, t, Interlocked.CompareExchange(ref _loss, 0, 0), Volatile.Read(ref _quarantined), _clock.Elapsed, eta);
    }
}
