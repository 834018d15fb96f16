using System.Globalization;
using System.Text;
using Stella.Continual.Checkpoints;
using Stella.Continual.Memory;
using Stella.Core;
using Stella.Media.Features;
using Stella.Media.Inspect;
using Stella.Media.Patches;
using Stella.Model.Config;

namespace Stella.Pipeline.Shards;

/// <summary><c>stella memory show RUN</c>: what the rehearsal memory of a run holds, per task, with pictures of a few items.</summary>
public static class MemoryReport
{
    /// <summary>The memory folder of a run (its latest checkpoint's), or the folder itself when it holds a memory index.</summary>
    public static string MemoryDirectory(string run)
    {
        if (File.Exists(Path.Combine(run, ParquetMemoryStore.IndexFileName)))
        {
            return run;
        }

        var latest = new CheckpointStore(Path.Combine(run, "checkpoints"), string.Empty).Latest
            ?? throw new UserInputException($"{run} holds no checkpoint (no checkpoints/LATEST) and no memory index");
        var memory = Path.Combine(latest, "memory");
        return Directory.Exists(memory) ? memory : throw new UserInputException($"the latest checkpoint {latest} has no memory (the method keeps none)");
    }

    /// <summary>Writes memory.md and PNGs of <paramref name="perTask"/> items per task into <paramref name="outDir"/>; returns memory.md's text.</summary>
    public static async Task<string> WriteAsync(string run, string outDir, ModelConfig model, int perTask, CancellationToken ct) =>
        (await ShowAsync(run, outDir, model, perTask, ct).ConfigureAwait(false)).Markdown;

    /// <summary>
    /// Writes memory.md and the PNGs as <see cref="WriteAsync"/> does; returns memory.md's text and the same summary for a terminal,
    /// where each pictured item is a line with its caption and the paths of its pictures.
    /// </summary>
    public static async Task<MemoryReportText> ShowAsync(string run, string outDir, ModelConfig model, int perTask, CancellationToken ct)
    {
        var dir = MemoryDirectory(run);
        var items = await MemoryShards.ReadAsync(dir, ct).ConfigureAwait(false);
        Directory.CreateDirectory(outDir);
        var files = Directory.GetFiles(dir, "*.parquet");
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"# Rehearsal memory of {run}\n\n{dir}: {items.Count} items in {files.Length} Parquet files, {files.Sum(f => new FileInfo(f).Length):N0} bytes on disk, {items.Sum(i => i.PayloadBytes):N0} bytes of payload.\n\n");
        sb.Append("| task | items | share | whole clips | selected patches only | mean audio patches | mean video patches |\n|---|---|---|---|---|---|---|\n");
        foreach (var group in items.GroupBy(i => i.Task).OrderBy(g => g.Key))
        {
            var whole = group.Count(i => i.AudioIndices.Length == 0);
            sb.Append(CultureInfo.InvariantCulture,
                $"| {group.Key} | {group.Count()} | {100.0 * group.Count() / Math.Max(1, items.Count):0.0}% | {whole} | {group.Count() - whole} | {group.Average(i => i.AudioPatches.Length / (double)model.AudioPatchDim):0} | {group.Average(i => i.VideoPatches.Length / (double)model.VideoPatchDim):0} |\n");
        }

        sb.Append('\n');
        var terminal = new StringBuilder(sb.ToString());
        foreach (var item in items.GroupBy(i => i.Task).OrderBy(g => g.Key).SelectMany(g => g.OrderBy(i => i.Slot).Take(perTask)))
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"task{item.Task}-slot{item.Slot:D5}");
            var audio = Place(item.AudioPatches, item.AudioIndices, model.AudioTokens, model.AudioPatchDim);
            var video = Place(item.VideoPatches, item.VideoIndices, model.VideoTokens, model.VideoPatchDim);
            var fbank = Patchify.AudioInverse(audio, model.AudioFrames, model.MelBins, model.Patch);
            for (var v = 0; v < fbank.Length; v++)
            {
                fbank[v] = (fbank[v] * 4.4849f) - 5.081f;
            }

            Pictures.Spectrogram(Path.Combine(outDir, name + "-spectrogram.png"), fbank, model.AudioFrames, model.MelBins, 0.01, $"{item.ClipId} (task {item.Task}, slot {item.Slot})");
            var planar = Patchify.VideoInverse(video, model.Frames, 3, model.FrameSize, model.FrameSize, model.Patch);
            Pictures.FrameStrip(Path.Combine(outDir, name + "-frames.png"), FrameFeatures.Denormalize(planar, model.Frames, model.FrameSize), model.Frames, model.FrameSize,
                Enumerable.Range(0, model.Frames).Select(f => $"frame {f}").ToList());
            var caption = string.Create(CultureInfo.InvariantCulture,
                $"{item.ClipId} (task {item.Task}, slot {item.Slot}){(item.AudioIndices.Length > 0 ? ", selected patches only (black: not kept)" : string.Empty)}");
            sb.Append(CultureInfo.InvariantCulture, $"{caption}:\n\n![spectrogram]({name}-spectrogram.png)\n![frames]({name}-frames.png)\n\n");
            terminal.Append(CultureInfo.InvariantCulture, $"{caption}: {Path.Combine(outDir, name + "-spectrogram.png")}, {Path.Combine(outDir, name + "-frames.png")}\n");
        }

        await File.WriteAllTextAsync(Path.Combine(outDir, "memory.md"), sb.ToString(), ct).ConfigureAwait(false);
        return new MemoryReportText(sb.ToString(), terminal.ToString());
    }

    /// <summary>Whole-clip patches as they are; selected patches (STELLA+) put back at their token positions, zeros elsewhere.</summary>
    private static float[] Place(float[] patches, int[] indices, int tokens, int dim)
    {
        if (indices.Length == 0)
        {
            return patches;
        }

        var full = new float[tokens * dim];
        for (var k = 0; k < indices.Length; k++)
        {
            Array.Copy(patches, k * dim, full, indices[k] * dim, dim);
        }

        return full;
    }
}
