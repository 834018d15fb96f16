namespace Stella.Media.Features;

/// <summary>RGB24 frames [F, H, W, 3] to normalized float frames [F, 3, H, W] with ImageNet mean and std, as the reference.</summary>
public static class FrameFeatures
{
    /// <summary>ImageNet channel means.</summary>
    public static readonly float[] Mean = [0.485f, 0.456f, 0.406f];

    /// <summary>ImageNet channel standard deviations.</summary>
    public static readonly float[] Std = [0.229f, 0.224f, 0.225f];

    /// <summary>Normalizes <paramref name="rgb"/> (uint8 [frames, size, size, 3]) to float [frames, 3, size, size].</summary>
    public static float[] Normalize(ReadOnlySpan<byte> rgb, int frames, int size)
    {
        var plane = size * size;
        if (rgb.Length != frames * plane * 3)
        {
            throw new ArgumentException($"expected {frames * plane * 3} bytes for {frames} frames of {size}x{size}, got {rgb.Length}");
        }

        var result = new float[rgb.Length];
        for (var f = 0; f < frames; f++)
        {
            for (var p = 0; p < plane; p++)
            {
                var src = ((f * plane) + p) * 3;
                for (var c = 0; c < 3; c++)
                {
                    result[(((f * 3) + c) * plane) + p] = ((rgb[src + c] / 255f) - Mean[c]) / Std[c];
                }
            }
        }

        return result;
    }

    /// <summary>The inverse of <see cref="Normalize"/>: float [frames, 3, size, size] back to uint8 [frames, size, size, 3] (rounded, clamped).</summary>
    public static byte[] Denormalize(ReadOnlySpan<float> planar, int frames, int size)
    {
        var plane = size * size;
        var rgb = new byte[frames * plane * 3];
        for (var f = 0; f < frames; f++)
        {
            for (var c = 0; c < 3; c++)
            {
                for (var p = 0; p < plane; p++)
                {
                    var v = (planar[(((f * 3) + c) * plane) + p] * Std[c]) + Mean[c];
                    rgb[(((f * plane) + p) * 3) + c] = (byte)Math.Clamp(Math.Round(v * 255), 0, 255);
                }
            }
        }

        return rgb;
    }
}
