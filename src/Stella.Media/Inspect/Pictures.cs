using ScottPlot;
using SkiaSharp;

namespace Stella.Media.Inspect;

/// <summary>PNG pictures for people: a spectrogram with axes and colour bar (ScottPlot), and a strip of frames (SkiaSharp).</summary>
public static class Pictures
{
    /// <summary>Writes a log-mel spectrogram (row-major [frames, mel]) with time in seconds across and mel bins up.</summary>
    public static void Spectrogram(string path, ReadOnlySpan<float> fbank, int frames, int mel, double frameShiftSeconds, string title)
    {
        var data = new double[mel, frames];
        for (var t = 0; t < frames; t++)
        {
            for (var m = 0; m < mel; m++)
            {
                // Row 0 is drawn at the top: put the highest mel bin there.
                data[mel - 1 - m, t] = fbank[(t * mel) + m];
            }
        }

        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(data);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.Extent = new CoordinateRect(0, frames * frameShiftSeconds, 0, mel);
        plot.Add.ColorBar(heatmap).Label = "log mel energy";
        plot.Title(title);
        plot.XLabel("time (s)");
        plot.YLabel("mel bin");
        plot.Axes.Margins(0, 0);
        plot.SavePng(path, 1000, 420);
    }

    /// <summary>Writes frames (uint8 [count, size, size, 3]) side by side, enlarged, each captioned.</summary>
    public static void FrameStrip(string path, ReadOnlySpan<byte> rgb, int count, int size, IReadOnlyList<string> captions)
    {
        const int Scale = 2;
        const int Gap = 8;
        const int Header = 24;
        var tile = size * Scale;
        using var bitmap = new SKBitmap((count * (tile + Gap)) + Gap, tile + Header + Gap, SKColorType.Rgba8888, SKAlphaType.Opaque);
        bitmap.Erase(new SKColor(32, 32, 32));
        for (var f = 0; f < count; f++)
        {
            var x0 = Gap + (f * (tile + Gap));
            for (var y = 0; y < tile; y++)
            {
                for (var x = 0; x < tile; x++)
                {
                    var i = ((((f * size) + (y / Scale)) * size) + (x / Scale)) * 3;
                    bitmap.SetPixel(x0 + x, Header + y, new SKColor(rgb[i], rgb[i + 1], rgb[i + 2]));
                }
            }
        }

        using (var canvas = new SKCanvas(bitmap))
        using (var font = new SKFont(SKTypeface.Default, 14))
        using (var paint = new SKPaint { Color = SKColors.White, IsAntialias = true })
        {
            for (var f = 0; f < count && f < captions.Count; f++)
            {
                canvas.DrawText(captions[f], Gap + (f * (tile + Gap)), 17, font, paint);
            }
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        png.SaveTo(file);
    }
}
