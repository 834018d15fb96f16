using Stella.Core.Manifests;
using Stella.Media.Decode;
using Stella.Media.Synth;

namespace Stella.Pipeline.Sources;

/// <summary>
/// Where a stream-train job's model inputs come from: media files decoded on the fly (<see cref="ClipFileSource"/>) or patch shards
/// written by <c>stella preprocess</c> (<see cref="Shards.PatchShardSource"/>). The graph, the learner, checkpoints and evaluation are the same.
/// </summary>
public interface IClipSource
{
    /// <summary>The clips, their tasks and splits.</summary>
    ClipManifest Manifest { get; }

    /// <summary>Ground truth per clip id (the built-in benchmark), empty when there is none.</summary>
    IReadOnlyDictionary<string, SynthGroundTruth> GroundTruth { get; }

    /// <summary>A training clip's inputs; <paramref name="task"/> and <paramref name="index"/> (its position in the task's clip list) pick its frame window.</summary>
    Task<ClipOutcome> TrainAsync(ClipRecord clip, int task, int index, CancellationToken ct);

    /// <summary>A clip's inputs with the centred evaluation window (retrieval clips, linear-probe clips).</summary>
    Task<ClipOutcome> EvalAsync(ClipRecord clip, CancellationToken ct);

    /// <summary>
    /// The key under which <paramref name="clip"/>'s evaluation-window inputs may be kept in an <see cref="EvalFeatureCache"/>: it
    /// must change whenever they would. Null (the default) for sources not worth caching (stored patches are read as fast).
    /// </summary>
    string? EvalCacheKey(ClipRecord clip) => null;

    /// <summary>
    /// The per-clip stages when the source decodes media: the stream-train graph then runs decode, spectrogram and patches as blocks
    /// of their own. Null for a source of stored patches, which the graph reads in one stage.
    /// </summary>
    ClipFeaturizer? Featurizer => null;

    /// <summary>The augmentation of a training clip in its epoch; null when augmentation is off (or the source cannot augment).</summary>
    Augment.ClipAugmentation? Augmentation(Graph.ClipRequest request) => null;

    /// <summary>The frame window of training clip <paramref name="index"/> of <paramref name="task"/> (sources with a <see cref="Featurizer"/>).</summary>
    FrameWindow TrainWindow(int task, int index) => FrameWindow.Eval;
}
