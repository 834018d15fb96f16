using System.Globalization;
using Stella.Core.Tasks;

namespace Stella.Core.Manifests;

/// <summary>
/// Reads the VGGSound CSV (<c>youtube_id,start_seconds,label,split</c>, no header) into a task-ordered manifest
/// for a task map (the Continual-VS rule applied to VGGSound's class file).
/// </summary>
public static class VggSoundManifestReader
{
    /// <summary>File name of a clip, from its id and start: VGGSound downloads are usually <c>{id}_{start:D6}.mp4</c>.</summary>
    public const string DefaultTemplate = "{id}_{start:D6}.mp4";

    /// <summary>
    /// Reads <paramref name="csvPath"/>. Rows whose label is in no task are skipped (the pre-training pool).
    /// Train clips: the first <paramref name="trainPerClass"/> of each class (0 keeps all). Test clips: the ids in
    /// <paramref name="retrievalIds"/> form the retrieval set when given, else the first <paramref name="retrievalPerClass"/> per class.
    /// </summary>
    public static ClipManifest Read(
        string csvPath, TaskMap tasks, string template = DefaultTemplate, int trainPerClass = 0, int retrievalPerClass = 5,
        IReadOnlySet<string>? retrievalIds = null)
    {
        var rows = new List<ClipRecord>();
        foreach (var (row, f) in CsvRows.Read(csvPath, comments: true))
        {
            if (f.Length != 4)
            {
                throw new ManifestException(csvPath, row, $"expected 4 columns (youtube_id, start_seconds, label, split), got {f.Length}");
            }

            var start = CsvRows.ParseSeconds(f[1], csvPath, row, "start_seconds");
            var split = f[3].ToLowerInvariant() switch
            {
                "train" => ClipSplit.Train,
                "test" => ClipSplit.Test,
                _ => throw new ManifestException(csvPath, row, $"split '{f[3]}' is not train or test"),
            };
            if (string.IsNullOrWhiteSpace(f[0]))
            {
                throw new ManifestException(csvPath, row, "empty youtube_id");
            }

            if (tasks.TaskOf(f[2]) is not { } task)
            {
                continue;
            }

            var id = $"{f[0]}_{(int)start:D6}";
            rows.Add(new ClipRecord(id, FileName(template, f[0], start), f[2], task, split, start, row));
        }

        return new ClipManifest(csvPath, tasks, Arrange(rows, trainPerClass, retrievalPerClass, retrievalIds));
    }

    /// <summary>Applies a file-name template with <c>{id}</c> and <c>{start}</c> (an optional format after a colon, e.g. <c>{start:D6}</c>).</summary>
    public static string FileName(string template, string id, double start)
    {
        var seconds = (int)Math.Round(start);
        var name = template.Replace("{id}", id, StringComparison.Ordinal);
        var open = name.IndexOf("{start", StringComparison.Ordinal);
        if (open >= 0)
        {
            var close = name.IndexOf('}', open);
            var spec = name[(open + 6)..close];
            var text = spec.StartsWith(':') ? seconds.ToString(spec[1..], CultureInfo.InvariantCulture) : seconds.ToString(CultureInfo.InvariantCulture);
            name = name[..open] + text + name[(close + 1)..];
        }

        return name;
    }

    /// <summary>Task-orders the clips; keeps the first N train clips per class; chooses the retrieval clips among test clips.</summary>
    internal static List<ClipRecord> Arrange(List<ClipRecord> rows, int trainPerClass, int retrievalPerClass, IReadOnlySet<string>? retrievalIds)
    {
        var result = new List<ClipRecord>();
        foreach (var byTask in rows.GroupBy(r => r.Task).OrderBy(g => g.Key))
        {
            foreach (var byClass in byTask.GroupBy(r => r.Label))
            {
                var train = byClass.Where(r => r.Split == ClipSplit.Train);
                result.AddRange(trainPerClass > 0 ? train.Take(trainPerClass) : train);
                var retrieval = 0;
                foreach (var test in byClass.Where(r => r.Split != ClipSplit.Train))
                {
                    var isRetrieval = retrievalIds is not null ? retrievalIds.Contains(test.ClipId) : retrieval < retrievalPerClass;
                    if (isRetrieval)
                    {
                        retrieval++;
                    }

                    result.Add(test with { Split = isRetrieval ? ClipSplit.Retrieval : ClipSplit.Test });
                }
            }
        }

        return result;
    }
}
