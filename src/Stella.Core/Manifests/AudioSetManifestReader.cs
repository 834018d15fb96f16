using System.Text.Json;
using Stella.Core.Tasks;

namespace Stella.Core.Manifests;

/// <summary>
/// Reads AudioSet segment CSVs (<c># comments</c>, then <c>YTID, start_seconds, end_seconds, "mid,mid,..."</c>) with the
/// AudioSet ontology (<c>ontology.json</c>: id, name, ...) into a task-ordered manifest for a task map of display names.
/// A clip belongs to the task of its first positive label that the map lists; clips with no listed label are skipped.
/// </summary>
public static class AudioSetManifestReader
{
    /// <summary>Reads the ontology: machine id (e.g. /m/09x0r) to display name.</summary>
    public static IReadOnlyDictionary<string, string> ReadOntology(string path)
    {
        if (!File.Exists(path))
        {
            throw new ManifestException(path, 0, "file not found");
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var names = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in doc.RootElement.EnumerateArray())
            {
                names[entry.GetProperty("id").GetString()!] = entry.GetProperty("name").GetString()!;
            }

            return names;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new ManifestException(path, 0, $"not an AudioSet ontology (a JSON array of objects with 'id' and 'name'): {e.Message}", e);
        }
    }

    /// <summary>
    /// Reads one segments CSV of <paramref name="split"/> (train for balanced/unbalanced train, test for eval).
    /// File names follow <paramref name="template"/> (<c>{id}</c>, <c>{start}</c>).
    /// </summary>
    public static ClipManifest Read(
        string csvPath, IReadOnlyDictionary<string, string> ontology, TaskMap tasks, ClipSplit split,
        string template = "{id}_{start}.mp4", int trainPerClass = 0, int retrievalPerClass = 5)
    {
        var rows = new List<ClipRecord>();
        foreach (var (row, f) in CsvRows.Read(csvPath, comments: true))
        {
            if (f.Length != 4)
            {
                throw new ManifestException(csvPath, row, $"expected 4 columns (YTID, start_seconds, end_seconds, positive_labels), got {f.Length}");
            }

            var start = CsvRows.ParseSeconds(f[1], csvPath, row, "start_seconds");
            var end = CsvRows.ParseSeconds(f[2], csvPath, row, "end_seconds");
            if (end <= start)
            {
                throw new ManifestException(csvPath, row, $"end_seconds {f[2]} is not after start_seconds {f[1]}");
            }

            string? label = null;
            int? task = null;
            foreach (var mid in f[3].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!ontology.TryGetValue(mid, out var name))
                {
                    throw new ManifestException(csvPath, row, $"label '{mid}' is not in the ontology");
                }

                if (task is null && tasks.TaskOf(name) is { } t)
                {
                    (label, task) = (name, t);
                }
            }

            if (task is null)
            {
                continue;
            }

            var id = $"{f[0]}_{(int)start}";
            rows.Add(new ClipRecord(id, VggSoundManifestReader.FileName(template, f[0], start), label!, task.Value, split, start, row));
        }

        return new ClipManifest(csvPath, tasks, VggSoundManifestReader.Arrange(rows, trainPerClass, retrievalPerClass, null));
    }
}
