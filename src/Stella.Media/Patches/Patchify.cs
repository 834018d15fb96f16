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
        var tp = time / patch;
        var fp = freq / patch;
        var result = new float[fbank.Length];
        for (var t = 0; t < tp; t++)
        {
            for (var f = 0; f < fp; f++)
            {
                var dst = result.AsSpan(((t * fp) + f) * patch * patch, patch * patch);
                for (var pt = 0; pt < patch; pt++)
                {
                    fbank.Slice((((t * patch) + pt) * freq) + (f * patch), patch).CopyTo(dst.Slice(pt * patch, patch));
                }
            }
        }

        return result;
    }

    /// <summary>Inverse of <see cref="Audio"/>: [tokens, P * P] back to a row-major [time, freq] spectrogram.</summary>
    public static float[] AudioInverse(ReadOnlySpan<float> patches, int time, int freq, int patch = DefaultPatch)
    {
        Check(patches.Length, time * freq, "audio patches");
        var tp = time / patch;
        var fp = freq / patch;
        var result = new float[patches.Length];
        for (var t = 0; t < tp; t++)
        {
            for (var f = 0; f < fp; f++)
            {
                var src = patches.Slice(((t * fp) + f) * patch * patch, patch * patch);
                for (var pt = 0; pt < patch; pt++)
                {
                    src.Slice(pt * patch, patch).CopyTo(result.AsSpan((((t * patch) + pt) * freq) + (f * patch), patch));
                }
            }
        }

        return result;
    }

    /// <summary>Video patches of [frames, channels, height, width] values: returns [frames * H/P * W/P, C * P * P].</summary>
    public static float[] Video(ReadOnlySpan<float> frames, int count, int channels, int height, int width, int patch = DefaultPatch)
    {
        Check(frames.Length, count * channels * height * width, "frames");
        CheckDivisible(height, patch, "frame height");
        CheckDivisible(width, patch, "frame width");
        var hp = height / patch;
        var wp = width / patch;
        var dim = channels * patch * patch;
        var result = new float[frames.Length];
        for (var t = 0; t < count; t++)
        {
            for (var h = 0; h < hp; h++)
            {
                for (var w = 0; w < wp; w++)
                {
                    var dst = result.AsSpan(((t * hp * wp) + (h * wp) + w) * dim, dim);
                    for (var c = 0; c < channels; c++)
                    {
                        for (var ph = 0; ph < patch; ph++)
                        {
                            var row = (((t * channels) + c) * height) + (h * patch) + ph;
                            frames.Slice((row * width) + (w * patch), patch)
                                .CopyTo(dst.Slice((c * patch * patch) + (ph * patch), patch));
                        }
                    }
                }
            }
        }

        return result;
    }

    /// <summary>Inverse of <see cref="Video"/>: [tokens, C * P * P] back to [frames, channels, height, width].</summary>
    public static float[] VideoInverse(ReadOnlySpan<float> patches, int count, int channels, int height, int width, int patch = DefaultPatch)
    {
        Check(patches.Length, count * channels * height * width, "video patches");
        var hp = height / patch;
        var wp = width / patch;
        var dim = channels * patch * patch;
        var result = new float[patches.Length];
        for (var t = 0; t < count; t++)
        {
            for (var h = 0; h < hp; h++)
            {
                for (var w = 0; w < wp; w++)
                {
                    var src = patches.Slice(((t * hp * wp) + (h * wp) + w) * dim, dim);
                    for (var c = 0; c < channels; c++)
                    {
                        for (var ph = 0; ph < patch; ph++)
                        {
                            var row = (((t * channels) + c) * height) + (h * patch) + ph;
                            src.Slice((c * patch * patch) + (ph * patch), patch)
                                .CopyTo(result.AsSpan((row * width) + (w * patch), patch));
                        }
                    }
                }
            }
        }

        return result;
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
