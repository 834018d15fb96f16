using System.Globalization;
using ScottPlot;
using SkiaSharp;

namespace Stella.Pipeline.Reports;

/// <summary>The report's PNG figures: the accuracy matrix, A/F per method, the modality gap over tasks (ScottPlot) and
/// attention overlays on frames (SkiaSharp, pixel work ScottPlot does not do).</summary>
public static class Plots
{
    /// <summary>acc[t][i] as a heatmap with the values written in the cells (row: after task t; column: task i).</summary>
    public static void AccuracyHeatmap(string path, double[][] acc, IReadOnlyList<string> tasks, string title)
    {
        var rows = acc.Length;
        var cols = tasks.Count;
        var data = new double[rows, cols];
        for (var t = 0; t < rows; t++)
        {
            for (var i = 0; i < cols; i++)
            {
                data[t, i] = i < acc[t].Length ? acc[t][i] : double.NaN;
            }
        }

        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(data);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.Extent = new CoordinateRect(-0.5, cols - 0.5, -0.5, rows - 0.5);
        heatmap.ManualRange = new ScottPlot.Range(0, 100);
        plot.Add.ColorBar(heatmap).Label = "R@k (%)";
        for (var t = 0; t < rows; t++)
        {
            for (var i = 0; i < cols; i++)
            {
                var label = plot.Add.Text(data[t, i].ToString("0.0", CultureInfo.InvariantCulture), i, rows - 1 - t);
                label.LabelFontColor = Colors.White;
                label.LabelAlignment = Alignment.MiddleCenter;
                label.LabelFontSize = 14;
            }
        }

        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, cols).Select(i => (double)i).ToArray(), tasks.ToArray());
        plot.Axes.Left.SetTicks(Enumerable.Range(0, rows).Select(t => (double)(rows - 1 - t)).ToArray(),
            Enumerable.Range(0, rows).Select(t => t < tasks.Count ? $"after {tasks[t]}" : "after all").ToArray());
        plot.Title(title);
        plot.XLabel("task evaluated");
        plot.Axes.SetLimits(-0.5, cols - 0.5, -0.5, rows - 0.5);
        plot.SavePng(path, 160 + (110 * cols), 120 + (70 * rows));
    }

    /// <summary>Mean modality gap over the tasks seen so far, after each task (thesis Fig. 2.7), one line per run or method.</summary>
    public static void GapOverTasks(string path, IReadOnlyDictionary<string, double[]> series, string title)
    {
        var plot = new Plot();
        foreach (var (name, values) in series)
        {
            var line = plot.Add.Scatter(Enumerable.Range(1, values.Length).Select(x => (double)x).ToArray(), values);
            line.LegendText = name;
            line.MarkerSize = 7;
        }

        plot.Title(title);
        plot.XLabel("after task");
        plot.YLabel("modality gap (seen tasks)");
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(path, 700, 420);
    }

    /// <summary>
    /// One line per method over a swept setting (thesis Fig. 2.6: A against the memory size), mean with the std over seeds as error
    /// bars; x on a log2 axis labelled with the setting's values.
    /// </summary>
    public static void SweepLines(string path, double[] x, IReadOnlyDictionary<string, (double[] Mean, double[] Std)> series, string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        var xs = x.Select(Math.Log2).ToArray();
        foreach (var (name, (mean, std)) in series)
        {
            var line = plot.Add.Scatter(xs, mean);
            line.LegendText = name;
            line.MarkerSize = 7;
            var bars = plot.Add.ErrorBar(xs, mean, std);
            bars.Color = line.Color;
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(xs.Zip(x, (p, v) => new Tick(p, v.ToString("0", System.Globalization.CultureInfo.InvariantCulture))).ToArray());
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, 700, 420);
    }

    /// <summary>Bars with error bars: one group per metric, one bar per method (mean +- std over seeds).</summary>
    public static void MethodBars(string path, IReadOnlyList<string> methods, IReadOnlyList<(string Metric, double[] Mean, double[] Std)> metrics, string title)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var ticks = new List<Tick>();
        for (var g = 0; g < metrics.Count; g++)
        {
            var (metric, mean, std) = metrics[g];
            for (var m = 0; m < methods.Count; m++)
            {
                var x = (g * (methods.Count + 1)) + m;
                var bar = plot.Add.Bar(new Bar { Position = x, Value = mean[m], Error = std[m], FillColor = palette.GetColor(m) });
                _ = bar;
            }

            ticks.Add(new Tick((g * (methods.Count + 1)) + ((methods.Count - 1) / 2.0), metric));
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        for (var m = 0; m < methods.Count; m++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = methods[m], FillColor = palette.GetColor(m) });
        }

        plot.ShowLegend(Alignment.UpperRight);
        plot.Title(title);
        plot.YLabel("%");
        plot.SavePng(path, 160 + (metrics.Count * methods.Count * 45), 450);
    }

    /// <summary>
    /// Paired differences against a reference: one group per metric, per method a point at the mean difference with its 95%
    /// interval over seeds (circle, left) and over clips (square, right) as error bars, and a dashed zero line. Missing intervals
    /// (NaN bounds) draw the point alone.
    /// </summary>
    public static void PairedDifferences(string path, IReadOnlyList<string> methods, IReadOnlyList<(string Metric, double[] Mean, (double Lo, double Hi)[] Seeds, (double Lo, double Hi)[] Clips)> metrics, string title)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var ticks = new List<Tick>();
        plot.Add.HorizontalLine(0, 1.5f, Colors.Gray, LinePattern.Dashed);
        for (var g = 0; g < metrics.Count; g++)
        {
            var (metric, mean, seeds, clips) = metrics[g];
            for (var m = 0; m < methods.Count; m++)
            {
                var x = (g * (methods.Count + 1)) + m;
                foreach (var (offset, interval, shape) in new[] { (-0.15, seeds[m], MarkerShape.FilledCircle), (0.15, clips[m], MarkerShape.FilledSquare) })
                {
                    if (!double.IsFinite(mean[m]))
                    {
                        continue;
                    }

                    plot.Add.Marker(x + offset, mean[m], shape, 8, palette.GetColor(m));
                    if (double.IsFinite(interval.Lo) && double.IsFinite(interval.Hi))
                    {
                        var bar = plot.Add.ErrorBar([x + offset], [mean[m]], [0.0]);
                        bar.YErrorPositive = [interval.Hi - mean[m]];
                        bar.YErrorNegative = [mean[m] - interval.Lo];
                        bar.Color = palette.GetColor(m);
                    }
                }
            }

            ticks.Add(new Tick((g * (methods.Count + 1)) + ((methods.Count - 1) / 2.0), metric));
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.ToArray());
        for (var m = 0; m < methods.Count; m++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = methods[m], FillColor = palette.GetColor(m) });
        }

        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "95% over seeds (t)", MarkerShape = MarkerShape.FilledCircle, MarkerColor = Colors.Black, MarkerSize = 8 });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "95% bootstrap over clips", MarkerShape = MarkerShape.FilledSquare, MarkerColor = Colors.Black, MarkerSize = 8 });
        plot.ShowLegend(Alignment.UpperRight);
        plot.Title(title);
        plot.YLabel("method - reference (% points)");
        plot.SavePng(path, 200 + (metrics.Count * methods.Count * 60), 450);
    }

    /// <summary>
    /// Frames (uint8 [rows][frames, size, size, 3]), each with its attention map ([rows][frames * grid * grid], one value per patch)
    /// in a heat panel directly below it (viridis, min to max of the clip's map), never painted over the frame: the rendered objects
    /// come in every hue, so a tint over the frame cannot be told from an object's own colour. The ground-truth source box is drawn
    /// on both tiles where known (green on the frame, white on the heat panel), the most attended patch outlined (yellow on the
    /// frame, red on the heat panel, a hue viridis does not use).
    /// </summary>
    public static void AttentionOverlay(string path, IReadOnlyList<AttentionRow> rows, int size, int grid)
    {
        const int Scale = 2;
        const int Gap = 6;
        const int Label = 22;
        var tile = size * Scale;
        var rowHeight = Label + tile + 2 + tile + Gap;
        var frames = rows.Count == 0 ? 0 : rows.Max(r => r.FrameCount);
        using var bitmap = new SKBitmap(Math.Max(1, Gap + (frames * (tile + Gap))), Math.Max(1, rows.Count * rowHeight), SKColorType.Rgba8888, SKAlphaType.Opaque);
        bitmap.Erase(new SKColor(24, 24, 24));
        using var canvas = new SKCanvas(bitmap);
        using var font = new SKFont(SKTypeface.Default, 13);
        using var text = new SKPaint { Color = SKColors.White, IsAntialias = true };
        using var boxPaint = new SKPaint { Color = SKColors.LimeGreen, Style = SKPaintStyle.Stroke, StrokeWidth = 2 };
        using var heatBoxPaint = new SKPaint { Color = SKColors.White, Style = SKPaintStyle.Stroke, StrokeWidth = 2 };
        using var topPaint = new SKPaint { Color = SKColors.Yellow, Style = SKPaintStyle.Stroke, StrokeWidth = 2 };
        using var heatTopPaint = new SKPaint { Color = SKColors.Red, Style = SKPaintStyle.Stroke, StrokeWidth = 2 };
        var viridis = new ScottPlot.Colormaps.Viridis();
        var lut = Enumerable.Range(0, 256).Select(i => viridis.GetColor(i / 255.0)).ToArray();
        var cell = tile / (double)grid;
        // The tiles are written into the pixel memory directly: SetPixel is one native call a pixel (1.8 s for a 4-row overlay).
        var pixels = bitmap.GetPixelSpan();
        var stride = bitmap.RowBytes;
        for (var r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            var y0 = (r * rowHeight) + Label;
            var h0 = y0 + tile + 2;
            canvas.DrawText(row.Caption, Gap, y0 - 6, font, text);
            var per = grid * grid;
            var max = row.Attention.Max();
            var min = row.Attention.Min();
            var top = Array.IndexOf(row.Attention, max);
            for (var f = 0; f < row.FrameCount; f++)
            {
                var x0 = Gap + (f * (tile + Gap));
                for (var y = 0; y < tile; y++)
                {
                    for (var x = 0; x < tile; x++)
                    {
                        var i = ((((f * size) + (y / Scale)) * size) + (x / Scale)) * 3;
                        var o = ((y0 + y) * stride) + ((x0 + x) * 4);
                        pixels[o] = row.Rgb[i];
                        pixels[o + 1] = row.Rgb[i + 1];
                        pixels[o + 2] = row.Rgb[i + 2];
                        pixels[o + 3] = 255;
                        var a = (row.Attention[(f * per) + ((int)(y / cell) * grid) + (int)(x / cell)] - min) / Math.Max(1e-12f, max - min);
                        var c = lut[Math.Clamp((int)Math.Round(a * 255), 0, 255)];
                        var h = ((h0 + y) * stride) + ((x0 + x) * 4);
                        pixels[h] = c.R;
                        pixels[h + 1] = c.G;
                        pixels[h + 2] = c.B;
                        pixels[h + 3] = 255;
                    }
                }

                if (row.Boxes is { } boxes && f < boxes.Count)
                {
                    var b = boxes[f];
                    canvas.DrawRect(x0 + (b[0] * Scale), y0 + (b[1] * Scale), (b[2] - b[0]) * Scale, (b[3] - b[1]) * Scale, boxPaint);
                    canvas.DrawRect(x0 + (b[0] * Scale), h0 + (b[1] * Scale), (b[2] - b[0]) * Scale, (b[3] - b[1]) * Scale, heatBoxPaint);
                }

                if (top / per == f)
                {
                    var p = top % per;
                    canvas.DrawRect((float)(x0 + ((p % grid) * cell)), (float)(y0 + ((p / grid) * cell)), (float)cell, (float)cell, topPaint);
                    canvas.DrawRect((float)(x0 + ((p % grid) * cell)), (float)(h0 + ((p / grid) * cell)), (float)cell, (float)cell, heatTopPaint);
                }
            }
        }

        canvas.Flush();
        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        png.SaveTo(file);
    }
}
