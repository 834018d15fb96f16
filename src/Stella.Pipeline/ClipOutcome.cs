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
}
