using System.Globalization;
using Stella.Core.Tasks;

namespace Stella.Core.Manifests;

/// <summary>
/// Reads this project's manifest (<c>manifest.csv</c>: clip_id,path,label,task,split) with its <c>tasks.json</c>,
/// as written by <c>stella synth</c>. Split is train, retrieval (or eval), test, or base: warm-up rows (task "-") of classes
/// no task uses, anywhere in the file. A sixth column <c>audio</c> marks the authors' preprocessed layout: path is then the
/// clip's frame folder and audio its audio file (<c>stella manifest stella-official</c> writes it).
/// </summary>
public static class StellaManifestReader
{
    private static readonly string[] Header = ["clip_id", "path", "label", "task", "split"];
    private static readonly string[] HeaderWithAudio = [.. Header, "audio"];

    /// <summary>
    /// Reads <paramref name="manifestPath"/>; tasks from <c>tasks.json</c> beside it unless given. A missing manifest or task file
    /// is a <see cref="ManifestException"/> that names the path expected and how to make it.
    /// </summary>
    public static ClipManifest Read(string manifestPath, string? tasksPath = null)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(manifestPath))!;
        if (!File.Exists(manifestPath))
        {
            throw new ManifestException(manifestPath, 0,
                $"manifest not found; render the built-in benchmark there with 'stella synth --out {folder}' (or give the stream-train config a " +
                "'synth:' section, which renders it on first use), or point the config's 'manifest:' at your own manifest.csv (columns " +
                $"{string.Join(',', Header)}) with its tasks.json beside it");
        }

        tasksPath ??= Path.Combine(folder, "tasks.json");
        if (!File.Exists(tasksPath))
        {
            throw new ManifestException(tasksPath, 0,
                $"task file not found; it lies beside the manifest {manifestPath} and lists the tasks in order with their classes ('stella synth' writes both)");
        }

        var tasks = TaskMap.Read(tasksPath);
        var clips = new List<ClipRecord>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var first = true;
        var lastTask = 0;
        var header = Header;
        foreach (var (row, f) in CsvRows.Read(manifestPath))
        {
            if (first)
            {
                first = false;
                header = f.Select(x => x.ToLowerInvariant()).SequenceEqual(HeaderWithAudio) ? HeaderWithAudio : Header;
                if (!f.Select(x => x.ToLowerInvariant()).SequenceEqual(header))
                {
                    throw new ManifestException(manifestPath, row, $"expected the header '{string.Join(',', Header)}' (or with a sixth column 'audio'), got '{string.Join(',', f)}'");
                }

                continue;
            }

            if (f.Length != header.Length)
            {
                throw new ManifestException(manifestPath, row, $"expected {header.Length} columns ({string.Join(',', header)}), got {f.Length}");
            }

            if (header.Length == HeaderWithAudio.Length && string.IsNullOrWhiteSpace(f[5]))
            {
                throw new ManifestException(manifestPath, row, "empty audio path (a manifest with an 'audio' column gives every clip its audio file)");
            }

            var split = f[4].ToLowerInvariant() switch
            {
                "train" => ClipSplit.Train,
                "retrieval" or "eval" => ClipSplit.Retrieval,
                "test" => ClipSplit.Test,
                "base" => ClipSplit.Base,
                _ => throw new ManifestException(manifestPath, row, $"split '{f[4]}' is not train, retrieval, test or base"),
            };
            int task;
            if (split == ClipSplit.Base)
            {
                // Warm-up rows belong to no task: their task is "-" (or empty), and their class must be one no task uses.
                if (f[3] is not ("-" or ""))
                {
                    throw new ManifestException(manifestPath, row, $"a base (warm-up) row has the task '-', not '{f[3]}'");
                }

                if (tasks.TaskOf(f[2]) is { } owner)
                {
                    throw new ManifestException(manifestPath, row, $"base (warm-up) label '{f[2]}' belongs to task {owner} in {Path.GetFileName(tasksPath)}: warm-up classes must be disjoint from every task's");
                }

                task = -1;
            }
            else
            {
                if (!int.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out task) || task >= tasks.Tasks.Count)
                {
                    throw new ManifestException(manifestPath, row, $"task '{f[3]}' is not a task index 0..{tasks.Tasks.Count - 1}");
                }

                if (task < lastTask)
                {
                    throw new ManifestException(manifestPath, row, $"task {task} after task {lastTask}: the manifest must be task-ordered");
                }

                lastTask = task;
            }

            if (string.IsNullOrWhiteSpace(f[0]) || !ids.Add(f[0]))
            {
                throw new ManifestException(manifestPath, row, string.IsNullOrWhiteSpace(f[0]) ? "empty clip_id" : $"duplicate clip_id '{f[0]}'");
            }

            if (tasks.TaskOf(f[2]) is { } expected && expected != task)
            {
                throw new ManifestException(manifestPath, row, $"label '{f[2]}' belongs to task {expected} in {Path.GetFileName(tasksPath)}, but the row says task {task}");
            }

            clips.Add(new ClipRecord(f[0], f[1], f[2], task, split, 0, row, header.Length == HeaderWithAudio.Length ? f[5] : null));
        }

        if (first)
        {
            throw new ManifestException(manifestPath, 0, "empty manifest");
        }

        return new ClipManifest(manifestPath, tasks, clips);
    }
}
