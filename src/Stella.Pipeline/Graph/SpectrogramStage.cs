using Stella.Media.Features;

namespace Stella.Pipeline.Graph;

/// <summary>Stage 2: the Kaldi fbank of the decoded audio, normalized and padded or cut to the model's frames.</summary>
public sealed class SpectrogramStage(AudioFeatures audio)
{
    /// <summary>The stage's name in quarantine.csv.</summary>
    public const string Name = "spectrogram";

    /// <summary>Computes the spectrogram; the PCM is released. A clip that has its spectrogram (an augmented clip's cached material) passes.</summary>
    public ClipInFlight Run(ClipInFlight item) =>
        item.Spectrogram is not null ? item : StageGuard.Run(Name, item, i =>
        {
            i.Spectrogram = audio.Compute(i.Decoded!.Audio!);
            i.Decoded = i.Decoded with { Audio = null };
        });
}
