using Stella.Core.Tasks;

namespace Stella.Core.Manifests;

/// <summary>
/// Reads the STELLA authors' CSVs (G-JWLee/STELLA_code, <c>data/video_datasets/vggsound.py</c>): no header; columns
/// <c>index, vid, frames_path, wav, label, category</c> (the leading index may be absent), paths relative to their data home.
/// A task is a category (their <c>target_task</c>), in the order given, else in the order the training CSV first names them; each
/// task's classes are its labels in training-CSV order. Retrieval rows of a category no task has are left out and counted, as
/// are warm-up (<c>base</c>) rows whose label a task uses. The result is task-ordered, each clip's <see cref="ClipRecord.RelativePath"/>
/// its frame folder and <see cref="ClipRecord.AudioPath"/> its audio file.
/// </summary>
public static class StellaOfficialManifestReader
{
    /// <summary>The manifest and what was left out, with the reason.</summary>
    public sealed record Result(ClipManifest Manifest, IReadOnlyList<string> LeftOut);

    /// <summary>Reads the training, retrieval and (optional) warm-up CSVs.</summary>
    public static Result Read(string trainCsv, string retrievalCsv, string? baseCsv = null, IReadOnlyList<string>? taskOrder = null)
    {
        var train = Rows(trainCsv);
        var order = taskOrder is { Count: > 0 } ? taskOrder.ToList() : train.Select(r => r.Category).Distinct(StringComparer.Ordinal).ToList();
        var unknown = order.Where(t => train.All(r => r.Category != t)).ToList();
        if (unknown.Count > 0)
        {
            throw new ManifestException(trainCsv, 0, $"no training row has the category '{unknown[0]}' (categories here: {string.Join(", ", train.Select(r => r.Category).Distinct(StringComparer.Ordinal))})");
        }

        var tasks = order.Select(t => new TaskDefinition(t, train.Where(r => r.Category == t).Select(r => r.Label).Distinct(StringComparer.Ordinal).ToList())).ToList();
        var map = new TaskMap("stella-official", tasks, trainCsv);
        var leftOut = new List<string>();
        var clips = new List<(int Task, int Order, ClipRecord Clip)>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        void Add(Row r, ClipSplit split, int task, string file)
        {
            if (!ids.Add(r.Vid))
            {
                throw new ManifestException(file, r.Line, $"video id '{r.Vid}' appears twice (a clip is in one split only)");
            }

            clips.Add((task, clips.Count, new ClipRecord(r.Vid, r.Frames, r.Label, task, split, 0, r.Line, r.Audio)));
        }

        foreach (var (file, split) in new[] { (trainCsv, ClipSplit.Train), (retrievalCsv, ClipSplit.Retrieval) })
        {
            foreach (var r in split == ClipSplit.Train ? train : Rows(retrievalCsv))
            {
                var task = order.IndexOf(r.Category);
                if (task < 0)
                {
                    leftOut.Add($"{file}:{r.Line}: {r.Vid}: category '{r.Category}' is not a task");
                    continue;
                }

                if (map.TaskOf(r.Label) is { } owner && owner != task)
                {
                    throw new ManifestException(file, r.Line, $"label '{r.Label}' is in task {owner} ({order[owner]}) but the row's category is '{r.Category}'");
                }

                Add(r, split, task, file);
            }
        }

        if (baseCsv is not null)
        {
            foreach (var r in Rows(baseCsv))
            {
                if (map.TaskOf(r.Label) is { } owner)
                {
                    leftOut.Add($"{baseCsv}:{r.Line}: {r.Vid}: label '{r.Label}' belongs to task {owner} ({order[owner]}); warm-up classes must be no task's");
                    continue;
                }

                Add(r, ClipSplit.Base, -1, baseCsv);
            }
        }

        // Task-ordered (warm-up rows first, then each task's training and retrieval rows in file order).
        var ordered = clips.OrderBy(c => c.Task).ThenBy(c => c.Order).Select(c => c.Clip).ToList();
        return new Result(new ClipManifest(trainCsv, map, ordered), leftOut);
    }

    private static List<Row> Rows(string path)
    {
        var rows = new List<Row>();
        foreach (var (line, f) in CsvRows.Read(path))
        {
            var c = f.Length switch
            {
                6 => f[1..],
                5 => f,
                _ => throw new ManifestException(path, line, $"expected 6 columns (index, vid, frames_path, wav, label, category) or 5 without the index, got {f.Length}"),
            };
            if (c.Take(4).Any(string.IsNullOrWhiteSpace))
            {
                throw new ManifestException(path, line, "empty vid, frames_path, wav or label");
            }

            rows.Add(new Row(line, c[0], c[1], c[2], c[3], c[4]));
        }

        if (rows.Count == 0)
        {
            throw new ManifestException(path, 0, "no rows");
        }

        return rows;
    }

    private sealed record Row(int Line, string Vid, string Frames, string Audio, string Label, string Category);
}
