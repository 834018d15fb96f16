using Stella.Core.Manifests;
using Stella.Media.Decode;

namespace Stella.Pipeline;

/// <summary>A clip turned into model input, or the reason it could not be.</summary>
/// <param name="Clip">The manifest record.</param>
/// <param name="AudioPatches">Audio patches [M * P*P] (null on failure).</param>
/// <param name="VideoPatches">Video patches [N * 3*P*P] (null on failure).</param>
/// <param name="VideoStart">Start of the frame window in seconds.</param>
/// <param name="Failure">Failure kind (null on success): a <see cref="DecodeFailure"/> name, BadManifestRow or Error.</param>
/// <param name="Detail">What went wrong.</param>
/// <param name="Stage">The stage the clip failed at (decode, spectrogram, patches, read, batch), null on success.</param>
public sealed record ClipOutcome(ClipRecord Clip, float[]? AudioPatches, float[]? VideoPatches, double VideoStart, string? Failure, string? Detail, string? Stage = null)
{
    /// <summary>True when the clip can be trained on.</summary>
    public bool Ok => Failure is null;

    /// <summary>
    /// What a training clip's augmented input is made from in each epoch (set when augmentation is on): the normalized fbank and
    /// the decoded frames (every frame of the clip with <c>augment.random_window</c>, else the clip's fixed window).
    /// </summary>
    public ClipMaterial? Material { get; init; }
}

/// <summary>The decoded media an augmented training clip is rendered from, epoch after epoch.</summary>
/// <param name="Spectrogram">The normalized, padded or cut fbank [frames * mel bins].</param>
/// <param name="Decoded">The frames (no audio).</param>
public sealed record ClipMaterial(float[] Spectrogram, DecodedClip Decoded)
{
    /// <summary>Bytes held (the fbank as float32, the frames as RGB24).</summary>
    public long Bytes => (Spectrogram.Length * (long)sizeof(float)) + (Decoded.Frames?.LongLength ?? 0);
}
