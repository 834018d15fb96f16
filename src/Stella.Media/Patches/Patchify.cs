namespace Stella.Media.Patches;

/// <summary>
/// Cuts spectrograms and frames into 16x16 patches (and back) in the token orders of the STELLA reference:
/// audio time-major (token = t * Fp + f over a [T, F] fbank), video per frame (token = t * Hp * Wp + h * Wp + w).
/// </summary>
/// <remarks>
/// Inside a patch, audio values are ordered (time, freq) = pt * P + pf; video values are ordered
/// (channel, row, col) = c * P * P + ph * P + pw, the layout of a flattened Conv2d(C, D, P, P) weight,
/// so a patch vector times a flattened conv kernel equals the conv patch embedding.
/// </remarks>
public static class Patchify
{
    /// <summary>Patch side in samples and pixels. Default and reference value: 16.</summary>
    public const int DefaultPatch = 16;

    /// <summary>Audio patches of a row-major [time, freq] spectrogram: returns [T/P * F/P, P * P].</summary>
    public static float[] Audio(ReadOnlySpan<float> fbank, int time, int freq, int patch = DefaultPatch)
    {
        Check(fbank.Length, time * freq, "fbank");
        CheckDivisible(time, patch, "time frames");
        CheckDivisible(freq, patch, "mel bins");
        var result = new float[fbank.Length];
        CopyAudio(fbank, result, time, freq, patch, toPatches: true);
        return result;
    }

    /// <summary>Inverse of <see cref="Audio"/>: [tokens, P * P] back to a row-major [time, freq] spectrogram.</summary>
    public static float[] AudioInverse(ReadOnlySpan<float> patches, int time, int freq, int patch = DefaultPatch)
    {
        Check(patches.Length, time * freq, "audio patches");
        var result = new float[patches.Length];
        CopyAudio(patches, result, time, freq, patch, toPatches: false);
        return result;
    }

    /// <summary>Video patches of [frames, channels, height, width] values: returns [frames * H/P * W/P, C * P * P].</summary>
    public static float[] Video(ReadOnlySpan<float> frames, int count, int channels, int height, int width, int patch = DefaultPatch)
    {
        Check(frames.Length, count * channels * height * width, "frames");
        CheckDivisible(height, patch, "frame height");
        CheckDivisible(width, patch, "frame width");
        var result = new float[frames.Length];
        CopyVideo(frames, result, count, channels, height, width, patch, toPatches: true);
        return result;
    }

    /// <summary>Inverse of <see cref="Video"/>: [tokens, C * P * P] back to [frames, channels, height, width].</summary>
    public static float[] VideoInverse(ReadOnlySpan<float> patches, int count, int channels, int height, int width, int patch = DefaultPatch)
    {
        Check(patches.Length, count * channels * height * width, "video patches");
        var result = new float[patches.Length];
        CopyVideo(patches, result, count, channels, height, width, patch, toPatches: false);
        return result;
    }

    // One walk over the patch geometry serves both directions: each row segment of P values has one offset in the
    // image and one in the patch array.
    private static void CopyAudio(ReadOnlySpan<float> src, Span<float> dst, int time, int freq, int patch, bool toPatches)
    {
        var fp = freq / patch;
        for (var t = 0; t < time / patch; t++)
        {
            for (var f = 0; f < fp; f++)
            {
                for (var pt = 0; pt < patch; pt++)
                {
                    var inPatches = ((((t * fp) + f) * patch) + pt) * patch;
                    var inImage = ((((t * patch) + pt) * freq) + (f * patch));
                    Copy(src, dst, inImage, inPatches, patch, toPatches);
                }
            }
        }
    }

    private static void CopyVideo(ReadOnlySpan<float> src, Span<float> dst, int count, int channels, int height, int width, int patch, bool toPatches)
    {
        var hp = height / patch;
        var wp = width / patch;
        var dim = channels * patch * patch;
        for (var t = 0; t < count; t++)
        {
            for (var h = 0; h < hp; h++)
            {
                for (var w = 0; w < wp; w++)
                {
                    var token = ((t * hp * wp) + (h * wp) + w) * dim;
                    for (var c = 0; c < channels; c++)
                    {
                        for (var ph = 0; ph < patch; ph++)
                        {
                            var row = (((t * channels) + c) * height) + (h * patch) + ph;
                            Copy(src, dst, (row * width) + (w * patch), token + (c * patch * patch) + (ph * patch), patch, toPatches);
                        }
                    }
                }
            }
        }
    }

    private static void Copy(ReadOnlySpan<float> src, Span<float> dst, int inImage, int inPatches, int length, bool toPatches)
    {
        if (toPatches)
        {
            src.Slice(inImage, length).CopyTo(dst.Slice(inPatches, length));
        }
        else
        {
            src.Slice(inPatches, length).CopyTo(dst.Slice(inImage, length));
        }
    }

    private static void Check(int actual, int expected, string what)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"{what}: expected {expected} values for the given shape, got {actual}");
        }
    }

    private static void CheckDivisible(int size, int patch, string what)
    {
        if (patch <= 0 || size % patch != 0)
        {
            throw new ArgumentException($"{what} ({size}) must be a positive multiple of the patch size ({patch})");
        }
    }
}
