using Stella.Media.Decode;

namespace Stella.Pipeline.Graph;

/// <summary>
/// One clip between the per-clip stages: decoded media after <see cref="DecodeStage"/>, the spectrogram after
/// <see cref="SpectrogramStage"/>, and the finished <see cref="Outcome"/> (patches) after <see cref="PatchStage"/>. A clip whose
/// outcome is set early (a failure, or features cached by an earlier epoch) passes the later stages untouched.
/// </summary>
public sealed class ClipInFlight(ClipRequest request)
{
    /// <summary>What the stream asked for.</summary>
    public ClipRequest Request { get; } = request;

    /// <summary>Decoded PCM and frames (until the stages that need them have run).</summary>
    public DecodedClip? Decoded { get; set; }

    /// <summary>The normalized, padded or cut fbank [frames * mel bins].</summary>
    public float[]? Spectrogram { get; set; }

    /// <summary>The clip's augmentation in this epoch (training clips when augmentation is on); null: none (evaluation).</summary>
    public Augment.ClipAugmentation? Augment { get; set; }

    /// <summary>Keep the fbank and frames the patches were made from in the outcome's <see cref="ClipOutcome.Material"/> (compact patch shards store them).</summary>
    public bool KeepMaterial { get; init; }

    /// <summary>The finished clip (patches) or its failure.</summary>
    public ClipOutcome? Outcome { get; set; }

    /// <summary>True when the clip failed at some stage (it goes to the quarantine branch).</summary>
    public bool Failed => Outcome is { Ok: false };
}
