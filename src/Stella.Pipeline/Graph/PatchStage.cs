using Stella.Media.Features;
using Stella.Media.Patches;
using Stella.Model.Config;

namespace Stella.Pipeline.Graph;

/// <summary>Stage 3: the spectrogram and the normalized frames cut into the model's patches; the clip is finished.</summary>
public sealed class PatchStage(ModelConfig model)
{
    /// <summary>The stage's name in quarantine.csv.</summary>
    public const string Name = "patches";

    /// <summary>Patchifies <paramref name="item"/>; its decoded media are released.</summary>
    public ClipInFlight Run(ClipInFlight item) =>
        StageGuard.Run(Name, item, i =>
        {
            var decoded = i.Decoded!;
            var audio = Patchify.Audio(i.Spectrogram!, model.AudioFrames, model.MelBins, model.Patch);
            var frames = FrameFeatures.Normalize(decoded.Frames!, decoded.FrameCount, decoded.FrameSize);
            var video = Patchify.Video(frames, decoded.FrameCount, 3, decoded.FrameSize, decoded.FrameSize, model.Patch);
            i.Outcome = new ClipOutcome(i.Request.Clip, audio, video, decoded.VideoStart, null, null);
            i.Decoded = null;
            i.Spectrogram = null;
        });
}
