using Stella.Core.Manifests;
using Stella.Media.Decode;
using Stella.Media.Features;
using Stella.Media.Patches;
using Stella.Model.Config;

namespace Stella.Pipeline;

/// <summary>A clip turned into model input, or the reason it could not be.</summary>
/// <param name="Clip">The manifest record.</param>
/// <param name="AudioPatches">Audio patches [M * P*P] (null on failure).</param>
/// <param name="VideoPatches">Video patches [N * 3*P*P] (null on failure).</param>
/// <param name="VideoStart">Start of the frame window in seconds.</param>
/// <param name="Failure">Failure kind (null on success): a <see cref="DecodeFailure"/> name, BadManifestRow or Error.</param>
/// <param name="Detail">What went wrong.</param>
public sealed record ClipOutcome(ClipRecord Clip, float[]? AudioPatches, float[]? VideoPatches, double VideoStart, string? Failure, string? Detail)
{
    /// <summary>True when the clip can be trained on.</summary>
    public bool Ok => Failure is null;
}

/// <summary>
/// Decode + features + patches for one clip: a plain class, testable without Dataflow. It never throws for a bad clip: every
/// failure becomes a <see cref="ClipOutcome"/> with its reason, so one bad item can never fault a block.
/// </summary>
public sealed class ClipFeaturizer
{
    private readonly ClipDecoder _decoder;
    private readonly AudioFeatures _audio;
    private readonly ModelConfig _model;
    private readonly DataRoot _root;
    private readonly string _manifest;

    /// <summary>Creates the stage for <paramref name="model"/>'s input sizes.</summary>
    public ClipFeaturizer(ModelConfig model, DataRoot root, string manifest, DecodeOptions? decode = null)
    {
        _model = model;
        _root = root;
        _manifest = manifest;
        _decoder = new ClipDecoder((decode ?? new DecodeOptions()) with { FrameSize = model.FrameSize });
        _audio = new AudioFeatures(new AudioFeatureOptions { TargetFrames = model.AudioFrames });
    }

    /// <summary>Featurizes <paramref name="clip"/> with the frame window <paramref name="window"/>.</summary>
    public async Task<ClipOutcome> RunAsync(ClipRecord clip, FrameWindow window, CancellationToken cancellationToken)
    {
        try
        {
            var path = _root.Resolve(clip.RelativePath, _manifest, clip.Row);
            var decoded = await _decoder.DecodeAsync(path, window, cancellationToken).ConfigureAwait(false);
            var spectrogram = _audio.Compute(decoded.Audio!);
            var audio = Patchify.Audio(spectrogram, _model.AudioFrames, _model.MelBins, _model.Patch);
            var frames = FrameFeatures.Normalize(decoded.Frames!, decoded.FrameCount, decoded.FrameSize);
            var video = Patchify.Video(frames, decoded.FrameCount, 3, decoded.FrameSize, decoded.FrameSize, _model.Patch);
            return new ClipOutcome(clip, audio, video, decoded.VideoStart, null, null);
        }
        catch (DecodeException e)
        {
            return new ClipOutcome(clip, null, null, 0, e.Failure.ToString(), e.Detail);
        }
        catch (ManifestException e)
        {
            return new ClipOutcome(clip, null, null, 0, "BadManifestRow", e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new ClipOutcome(clip, null, null, 0, "Error", $"{e.GetType().Name}: {e.Message}");
        }
    }
}
