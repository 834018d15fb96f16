using System.Text.Json;
using Stella.Continual.Memory;
using Stella.Model.Config;

namespace Stella.Pipeline.Shards;

/// <summary>A run's rehearsal memory (Parquet shards + index.json) read as training rows of the patch-shard reader.</summary>
public static class MemoryShards
{
    /// <summary>Reads the memory in <paramref name="directory"/> whatever run wrote it (its own index names the config hash).</summary>
    public static async Task<IReadOnlyList<MemoryItem>> ReadAsync(string directory, CancellationToken ct)
    {
        var index = Path.Combine(directory, ParquetMemoryStore.IndexFileName);
        if (!File.Exists(index))
        {
            throw new Stella.Core.UserInputException($"no rehearsal memory in {directory} ({ParquetMemoryStore.IndexFileName} missing)");
        }

        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(index, ct).ConfigureAwait(false));
        var hash = doc.RootElement.TryGetProperty("config_hash", out var h) ? h.GetString() ?? string.Empty : string.Empty;
        return await new ParquetMemoryStore(directory, hash).ReadAsync(ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Adds the memory's items that hold whole clips as training rows. Items that hold only their selected patches (STELLA+) cannot
    /// be fed back as clips and are counted and skipped.
    /// </summary>
    internal static async Task AddRowsAsync(string directory, ModelConfig model, Dictionary<(string, string), PatchRow> rows, Action<string> log, CancellationToken ct)
    {
        var items = await ReadAsync(directory, ct).ConfigureAwait(false);
        var audio = model.AudioTokens * model.AudioPatchDim;
        var video = model.VideoTokens * model.VideoPatchDim;
        var partial = 0;
        foreach (var item in items.OrderBy(i => i.Task).ThenBy(i => i.Slot))
        {
            if (item.AudioPatches.Length != audio || item.VideoPatches.Length != video)
            {
                partial++;
                continue;
            }

            var id = $"{item.ClipId}#m{item.Slot}";
            rows[(id, "train")] = new PatchRow
            {
                ClipId = id, Task = item.Task, Label = $"task{item.Task}", Split = "Train", Window = "train", Index = rows.Count, Row = rows.Count,
                AudioPatches = PatchRow.Bytes(item.AudioPatches), VideoPatches = PatchRow.Bytes(item.VideoPatches),
            };
        }

        log($"memory {directory}: {items.Count} items, {items.Count - partial} whole clips used as training rows{(partial > 0 ? $", {partial} hold only selected patches (STELLA+) and are skipped" : string.Empty)}");
    }
}
