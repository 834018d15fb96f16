using SkiaSharp;
using Stella.Pipeline.Reports;

namespace Stella.Pipeline.Tests;

public sealed class AttentionOverlayTests
{
    // The overlay's layout (Plots.AttentionOverlay): tiles at 2x, 6 px gaps, a 22 px caption above each row, the heat panel 2 px below the frame.
    private const int Size = 16;
    private const int Grid = 4;
    private const int Tile = Size * 2;
    private const int Gap = 6;
    private const int Label = 22;

    [Fact]
    public void Overlay_LeavesTheFrameUntouchedAndDrawsTheHeatBelowIt()
    {
        // Two frames of one colour; all attention on patch (row 2, col 1) of frame 1.
        var rgb = new byte[2 * Size * Size * 3];
        for (var i = 0; i < rgb.Length; i += 3)
        {
            (rgb[i], rgb[i + 1], rgb[i + 2]) = ((byte)40, (byte)90, (byte)200);
        }

        var attention = new float[2 * Grid * Grid];
        attention[(1 * Grid * Grid) + (2 * Grid) + 1] = 1f;
        var path = Path.Combine(TestData.TempDir(), "overlay.png");
        Plots.AttentionOverlay(path, [new AttentionRow("clip", rgb, 2, attention, Boxes: null)], Size, Grid);

        using var png = SKBitmap.Decode(path);
        var cell = Tile / Grid;
        for (var f = 0; f < 2; f++)
        {
            var x0 = Gap + (f * (Tile + Gap));
            // Every frame pixel keeps the frame's own colour, inside the most attended patch too (frame 1, cell (2, 1): x 8-16,
            // y 16-24; its outline is drawn on the cell's edges only).
            foreach (var (x, y) in new[] { (1, 1), (Tile - 2, 3), (5, Tile - 2), (26, 10), (12, 20) })
            {
                Assert.Equal(new SKColor(40, 90, 200), png.GetPixel(x0 + x, Label + y));
            }

            // The heat panel: the attended cell at viridis' top (yellow), every other cell at its bottom (dark purple).
            var h0 = Label + Tile + 2;
            var low = png.GetPixel(x0 + (cell / 2), h0 + (cell / 2));
            Assert.True(low.Red < 90 && low.Green < 30 && low.Blue > 60, $"frame {f}: low attention drawn as {low}");
            if (f == 1)
            {
                var high = png.GetPixel(x0 + cell + (cell / 2), h0 + (2 * cell) + (cell / 2));
                Assert.True(high.Red > 200 && high.Green > 200 && high.Blue < 80, $"high attention drawn as {high}");
            }
        }
    }
}
