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
