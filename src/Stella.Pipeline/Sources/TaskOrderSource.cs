using Stella.Core.Manifests;
using Stella.Media.Decode;
using Stella.Media.Synth;

namespace Stella.Pipeline.Sources;

/// <summary>
/// A clip source with its tasks in another order (<c>task_order:</c>, thesis Sec. 2.12): the manifest's tasks are renumbered in that
/// order, while every clip keeps the frame window and the augmentation draws of its place in the original order, so a run in another
/// order sees exactly the same inputs (and the same from patch shards as from the clips), only in another order.
/// </summary>
public sealed class TaskOrderSource : IClipSource
{
    private readonly IClipSource _inner;
    private readonly int[] _original;

    /// <summary>Wraps <paramref name="inner"/>; <paramref name="order"/> lists the original task indices in training order.</summary>
    public TaskOrderSource(IClipSource inner, IReadOnlyList<int> order)
    {
        _inner = inner;
        Manifest = inner.Manifest.Reordered(order);
        _original = [.. order];
    }

    /// <inheritdoc />
    public ClipManifest Manifest { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, SynthGroundTruth> GroundTruth => _inner.GroundTruth;

    /// <inheritdoc />
    public ClipFeaturizer? Featurizer => _inner.Featurizer;

    /// <inheritdoc />
    public Task<ClipOutcome> TrainAsync(ClipRecord clip, int task, int index, CancellationToken ct) =>
        Renumbered(_inner.TrainAsync(Original(clip), _original[task], index, ct), clip);

    /// <inheritdoc />
    public Task<ClipOutcome> EvalAsync(ClipRecord clip, CancellationToken ct) => Renumbered(_inner.EvalAsync(Original(clip), ct), clip);

    /// <inheritdoc />
    public string? EvalCacheKey(ClipRecord clip) => _inner.EvalCacheKey(Original(clip));

    /// <inheritdoc />
    public FrameWindow TrainWindow(int task, int index) => _inner.TrainWindow(_original[task], index);

    /// <inheritdoc />
    public Augment.ClipAugmentation? Augmentation(Graph.ClipRequest request) =>
        _inner.Augmentation(request with { Clip = Original(request.Clip), WindowTask = _original[request.WindowTask] });

    private ClipRecord Original(ClipRecord clip) => clip.Task >= 0 && clip.Task < _original.Length ? clip with { Task = _original[clip.Task] } : clip;

    // The outcome names the clip as the run knows it (its task in this order).
    private static async Task<ClipOutcome> Renumbered(Task<ClipOutcome> outcome, ClipRecord clip) => (await outcome.ConfigureAwait(false)) with { Clip = clip };
}
