using Stella.Core.Manifests;
using Stella.Media.Decode;

namespace Stella.Pipeline.Graph;

/// <summary>
/// Runs one stage's work on one clip and turns any failure into a quarantined outcome that names the stage and the reason, so a
/// bad clip never faults a block. The run's own stop is not a failure of the clip: it propagates.
/// </summary>
public static class StageGuard
{
    /// <summary>Runs <paramref name="work"/> on <paramref name="item"/> unless it already has an outcome.</summary>
    public static Task<ClipInFlight> RunAsync(string stage, ClipInFlight item, Func<ClipInFlight, Task> work) =>
        RunAsync(stage, CancellationToken.None, item, work);

    /// <summary>
    /// The same for a run stopped by <paramref name="stop"/>: only that
    /// stop propagates; any other cancellation (a library's own time-out) is the clip's failure, never a clip silently dropped.
    /// </summary>
    public static async Task<ClipInFlight> RunAsync(string stage, CancellationToken stop, ClipInFlight item, Func<ClipInFlight, Task> work)
    {
        if (item.Outcome is not null)
        {
            return item;
        }

        try
        {
            await work(item).ConfigureAwait(false);
        }
        catch (Exception e) when (!(e is OperationCanceledException && stop.IsCancellationRequested))
        {
            item.Outcome = Failure(stage, item.Request.Clip, e);
            item.Decoded = null;
            item.Spectrogram = null;
        }

        return item;
    }

    /// <summary>The synchronous form of <c>RunAsync</c>.</summary>
    public static ClipInFlight Run(string stage, ClipInFlight item, Action<ClipInFlight> work) =>
        RunAsync(stage, item, i => { work(i); return Task.CompletedTask; }).GetAwaiter().GetResult();

    /// <summary>The outcome of a clip that failed at <paramref name="stage"/> with <paramref name="e"/>.</summary>
    public static ClipOutcome Failure(string stage, ClipRecord clip, Exception e) => e switch
    {
        DecodeException d => new ClipOutcome(clip, null, null, 0, d.Failure.ToString(), d.Detail, stage),
        ManifestException m => new ClipOutcome(clip, null, null, 0, "BadManifestRow", m.Message, stage),
        _ => new ClipOutcome(clip, null, null, 0, "Error", $"{e.GetType().Name}: {e.Message}", stage),
    };
}
