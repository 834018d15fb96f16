namespace Stella.Pipeline.Reports;

/// <summary>One clip's row in an attention overlay.</summary>
/// <param name="Caption">Text above the row.</param>
/// <param name="Rgb">Frames, uint8 [frames, size, size, 3].</param>
/// <param name="FrameCount">Frames in <paramref name="Rgb"/>.</param>
/// <param name="Attention">One value per video patch, frame-major.</param>
/// <param name="Boxes">Ground-truth source box per frame (x0, y0, x1, y1 in pixels of the frame), if known.</param>
public sealed record AttentionRow(string Caption, byte[] Rgb, int FrameCount, float[] Attention, IReadOnlyList<int[]>? Boxes);
