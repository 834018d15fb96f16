using Stella.Media.Decode;
using Stella.Media.Features;
using Stella.Media.Patches;
using Stella.Model.Config;

namespace Stella.Pipeline.Graph;

/// <summary>
/// Stage 3: the spectrogram and the normalized frames cut into the model's patches; the clip is finished. A training clip with an
/// augmentation gets it here (window, crop, fbank noise, roll), and its outcome keeps the media it was made from
/// (<see cref="ClipOutcome.Material"/>) for later epochs.
/// </summary>
public sealed class PatchStage(ModelConfig model, DecodeOptions? decode = null)
{
    /// <summary>The stage's name in quarantine.csv.</summary>
    public const string Name = "patches";

    private readonly DecodeOptions _decode = decode ?? new DecodeOptions();

    /// <summary>
    /// The model's inputs from a normalized fbank [audio frames * mel bins] and normalized frames [count, 3, size, size]: the one
    /// place patches are cut, for clips in the graph and for compact patch shards read back (which store the fbank and the RGB).
    /// </summary>
    public static (float[] Audio, float[] Video) Patches(ModelConfig model, float[] fbank, float[] frames, int count, int frameSize) =>
        (Patchify.Audio(fbank, model.AudioFrames, model.MelBins, model.Patch), Patchify.Video(frames, count, 3, frameSize, frameSize, model.Patch));

    /// <summary>Patchifies <paramref name="item"/>; its decoded media are released.</summary>
    public ClipInFlight Run(ClipInFlight item) =>
        StageGuard.Run(Name, item, i =>
        {
            var decoded = i.Decoded!;
            var augment = i.Augment;
            var (rgb, count, start) = (decoded.Frames!, decoded.FrameCount, decoded.VideoStart);
            if (decoded.Whole)
            {
                if (augment is not { Options.RandomWindow: true })
                {
                    throw new InvalidOperationException("the frames of the whole clip reached the patch stage without a random window to take from them");
                }

                var frameBytes = decoded.FrameSize * decoded.FrameSize * 3;
                (rgb, var first) = augment.Window(rgb, count, frameBytes, _decode.Frames, _decode.FrameStride);
                (count, start) = (_decode.Frames, first / (double)_decode.SampleFps);
            }

            var fbank = augment is null ? i.Spectrogram! : augment.Spectrogram(i.Spectrogram!, model.AudioFrames, model.MelBins);
            var frames = FrameFeatures.Normalize(rgb, count, decoded.FrameSize);
            frames = augment is null ? frames : augment.Frames(frames, count, decoded.FrameSize);
            var (audio, video) = Patches(model, fbank, frames, count, decoded.FrameSize);
            i.Outcome = new ClipOutcome(i.Request.Clip, audio, video, start, null, null)
            {
                Material = augment is null && !i.KeepMaterial ? null : new ClipMaterial(i.Spectrogram!, decoded with { Audio = null }),
            };
            i.Decoded = null;
            i.Spectrogram = null;
        });
}
