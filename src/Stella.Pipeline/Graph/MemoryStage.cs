using Stella.Continual.Checkpoints;
using Stella.Continual.Learning;

namespace Stella.Pipeline.Graph;

/// <summary>
/// The last stage of a step: the rehearsal memory's reservoir update (<see cref="Learner.Remember"/>), then the cursor moves past
/// the step's clips and <c>committed</c> runs (the job's bookkeeping: log, periodic checkpoint with the memory as Parquet). A step
/// that failed at any stage has its clips quarantined here, with the stage and the reason, and the stream goes on; the error with
/// its stack trace goes to the log.
/// </summary>
public sealed class MemoryStage(
    Learner learner, StreamCursor cursor, QuarantineStage quarantine, Func<TrainingStep, StreamPosition, Task> committed, Action<string> log,
    Action<string, TrainingStep>? fault = null)
{
    /// <summary>The stage's name in quarantine.csv.</summary>
    public const string Name = "memory";

    /// <summary>Completes <paramref name="step"/>.</summary>
    public async Task RunAsync(TrainingStep step)
    {
        if (step.Failure is null && step.Work is not null)
        {
            try
            {
                fault?.Invoke(Name, step);
                learner.Remember(step.Work);
            }
            catch (Exception e)
            {
                step.Fail(Name, e);
            }
        }

        if (step.Failure is { } failure)
        {
            log($"a step on {step.Clips.Count} clips failed at {failure.Stage}; its clips are quarantined: {failure.Error}");
            foreach (var clip in step.Clips)
            {
                quarantine.Record(StageGuard.Failure(failure.Stage, clip.Request.Clip, failure.Error), clip.Request.Index);
            }
        }

        await committed(step, cursor.Commit(step.End)).ConfigureAwait(false);
    }
}
