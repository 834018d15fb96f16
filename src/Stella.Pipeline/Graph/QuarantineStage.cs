using Stella.Pipeline.Telemetry;

namespace Stella.Pipeline.Graph;

/// <summary>
/// The quarantine branch: a failed clip is written to quarantine.csv with its stage and reason (once per clip, however many
/// epochs meet it), the cursor learns it is on record, and the run stops with <see cref="QuarantineLimitException"/> once more than
/// the tolerated share of the clips consumed so far failed (judged from 20 clips on).
/// </summary>
public sealed class QuarantineStage(Quarantine quarantine, StreamCursor cursor, double maxShare, Func<int, long> consumedAt, StreamProgress progress, Action<string> log)
{
    /// <summary>Records the failed clip at stream index <paramref name="index"/>.</summary>
    public void Record(ClipOutcome outcome, int index)
    {
        if (quarantine.Add(outcome))
        {
            log($"quarantined {outcome.Clip.ClipId} at {outcome.Stage}: {outcome.Failure}: {outcome.Detail}");
        }

        progress.Quarantined();
        cursor.Quarantined(index);
        var consumed = consumedAt(index);
        var share = quarantine.Count / (double)Math.Max(1, consumed);
        if (consumed >= 20 && share > maxShare)
        {
            throw new QuarantineLimitException(quarantine.Count, consumed, maxShare, "quarantine.csv");
        }
    }
}
