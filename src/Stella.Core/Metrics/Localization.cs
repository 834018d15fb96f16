namespace Stella.Core.Metrics;

/// <summary>
/// Localization of the sound source on the built-in benchmark: a clip is a hit when its most attended video patch, among the
/// frames where the source sounds, lies inside the source's box in that frame (the patch centre is tested).
/// </summary>
public static class Localization
{
    /// <summary>
    /// Whether the clip is a hit. <paramref name="attention"/> has one value per video token (frame-major, then row, then column over a
    /// grid of <paramref name="gridSide"/> x <paramref name="gridSide"/> patches per frame); <paramref name="boxes"/> are [x0, y0, x1, y1)
    /// per sampled frame in pixels of a frame of <paramref name="frameSize"/>; <paramref name="sounding"/> flags the sampled frames
    /// where the source sounds. Null when no sampled frame sounds (the clip is not scored).
    /// </summary>
    public static bool? Hit(IReadOnlyList<float> attention, int gridSide, int frameSize, IReadOnlyList<int[]> boxes, IReadOnlyList<bool> sounding)
    {
        var perFrame = gridSide * gridSide;
        if (attention.Count != boxes.Count * perFrame || sounding.Count != boxes.Count)
        {
            throw new ArgumentException($"attention has {attention.Count} values, expected {boxes.Count} frames x {perFrame} patches");
        }

        var best = -1;
        for (var f = 0; f < boxes.Count; f++)
        {
            if (!sounding[f])
            {
                continue;
            }

            for (var p = 0; p < perFrame; p++)
            {
                var token = (f * perFrame) + p;
                if (best < 0 || attention[token] > attention[best])
                {
                    best = token;
                }
            }
        }

        if (best < 0)
        {
            return null;
        }

        var frame = best / perFrame;
        var cell = best % perFrame;
        var patch = frameSize / (double)gridSide;
        var (cx, cy) = (((cell % gridSide) + 0.5) * patch, ((cell / gridSide) + 0.5) * patch);
        var box = boxes[frame];
        return cx >= box[0] && cx < box[2] && cy >= box[1] && cy < box[3];
    }
}
