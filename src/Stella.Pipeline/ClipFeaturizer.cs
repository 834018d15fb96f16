using Stella.Core.Manifests;
using Stella.Media.Decode;
using Stella.Media.Features;
using Stella.Model.Config;
using Stella.Pipeline.Graph;

namespace Stella.Pipeline;

/// <summary>
/// The per-clip stages of the stream-train graph (<see cref="DecodeStage"/>, <see cref="SpectrogramStage"/>,
/// <see cref="PatchStage"/>) for one model geometry. The graph runs them as blocks; <see cref="RunAsync"/> runs them in a row for
/// the clips outside the stream (evaluation and probe sets, read-ahead, extraction, preprocessing). It never throws for a bad clip:
/// every failure becomes a <see cref="ClipOutcome"/> naming its stage and reason.
/// </summary>
public sealed class ClipFeaturizer
{
    /// <summary>Creates the stages for <paramref name="model"/>'s input sizes.</summary>
    public ClipFeaturizer(ModelConfig model, DataRoot root, string manifest, DecodeOptions? decode = null)
    {
        Model = model;
        Decode = new DecodeStage(new ClipDecoder((decode ?? new DecodeOptions()) with { FrameSize = model.FrameSize }), root, manifest);
        Spectrogram = new SpectrogramStage(new AudioFeatures(new AudioFeatureOptions { TargetFrames = model.AudioFrames }));
        var options = (decode ?? new DecodeOptions()) with { FrameSize = model.FrameSize };
        Patches = new PatchStage(model, options);
    }

    /// <summary>The model whose input sizes the stages make.</summary>
    public ModelConfig Model { get; }

    /// <summary>Stage 1.</summary>
    public DecodeStage Decode { get; }

    /// <summary>Stage 2.</summary>
    public SpectrogramStage Spectrogram { get; }

    /// <summary>Stage 3.</summary>
    public PatchStage Patches { get; }

    /// <summary>
    /// Featurizes <paramref name="clip"/> with the frame window <paramref name="window"/> and, for a training clip, its
    /// <paramref name="augment"/>ation (with a random window the whole clip is decoded and the window taken from it); with
    /// <paramref name="keepMaterial"/> the outcome also holds the fbank and frames its patches were cut from.
    /// </summary>
    public async Task<ClipOutcome> RunAsync(ClipRecord clip, FrameWindow window, CancellationToken cancellationToken, Augment.ClipAugmentation? augment = null, bool keepMaterial = false)
    {
        var item = new ClipInFlight(new ClipRequest(clip, 0, clip.Task, 0)) { Augment = augment, KeepMaterial = keepMaterial };
        item = await Decode.RunAsync(item, window, cancellationToken).ConfigureAwait(false);
        return Patches.Run(Spectrogram.Run(item)).Outcome!;
    }
}
