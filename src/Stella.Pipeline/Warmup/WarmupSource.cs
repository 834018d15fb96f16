using Stella.Core;
using Stella.Core.Manifests;
using Stella.Core.Tasks;
using Stella.Media.Decode;
using Stella.Media.Synth;
using Stella.Pipeline.Sources;

namespace Stella.Pipeline.Warmup;

/// <summary>
/// A clip source whose training clips are the manifest's warm-up (<c>base</c>) rows, as one stream (task 0 of the stream), while
/// the retrieval clips and tasks stay the continual benchmark's: the warm-up is evaluated on the tasks it prepares for (zero-shot,
/// none of its classes is theirs). Decoding is the inner source's; the evaluation clips may come from another source with the
/// same evaluation windows (the continual run's patch shards, in <c>stella compare</c>), so they are not decoded twice.
/// </summary>
internal sealed class WarmupSource : IClipSource
{
    private readonly IClipSource _inner;
    private readonly IClipSource _eval;

    public WarmupSource(IClipSource inner, IClipSource? eval = null)
    {
        _inner = inner;
        _eval = eval ?? inner;
        var source = inner.Manifest;
        var warmup = source.Split(ClipSplit.Base).ToList();
        if (warmup.Count == 0)
        {
            throw new UserInputException(
                $"{source.Source} has no warm-up rows (split 'base'): render the benchmark with warm-up classes ('stella synth --base-classes 6', " +
                "or 'base_classes:' in the config's synth section, into a new folder) or add rows of classes no task uses with split 'base' and task '-'");
        }

        // The warm-up rows train as the stream's clips (task 0: the Multitask learner takes every task's clips as one shuffled
        // stream, so which task they are filed under only picks their frame windows); the task clips do not train.
        var clips = warmup.Select(c => c with { Split = ClipSplit.Train, Task = 0 })
            .Concat(source.Split(ClipSplit.Retrieval))
            .ToList();
        Manifest = new ClipManifest(source.Source, source.Tasks, clips);
    }

    /// <inheritdoc />
    public ClipManifest Manifest { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, SynthGroundTruth> GroundTruth => _eval.GroundTruth;

    /// <inheritdoc />
    public ClipFeaturizer? Featurizer => _inner.Featurizer;

    /// <inheritdoc />
    public Task<ClipOutcome> TrainAsync(ClipRecord clip, int task, int index, CancellationToken ct) => _inner.TrainAsync(clip, task, index, ct);

    /// <inheritdoc />
    public Task<ClipOutcome> EvalAsync(ClipRecord clip, CancellationToken ct) => _eval.EvalAsync(clip, ct);

    /// <inheritdoc />
    public string? EvalCacheKey(ClipRecord clip) => _eval.EvalCacheKey(clip);

    /// <inheritdoc />
    public FrameWindow TrainWindow(int task, int index) => _inner.TrainWindow(task, index);

    /// <inheritdoc />
    public Augment.ClipAugmentation? Augmentation(Graph.ClipRequest request) => _inner.Augmentation(request);
}
