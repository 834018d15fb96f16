using Stella.Core.Tasks;

namespace Stella.Core.Manifests;

/// <summary>A task-ordered list of clips with its tasks. Clips of task t all come before those of task t + 1.</summary>
/// <param name="Source">The file the manifest was read from.</param>
/// <param name="Tasks">The tasks, in training order.</param>
/// <param name="Clips">The clips, task-ordered.</param>
public sealed record ClipManifest(string Source, TaskMap Tasks, IReadOnlyList<ClipRecord> Clips)
{
    /// <summary>Clips of <paramref name="split"/>.</summary>
    public IEnumerable<ClipRecord> Split(ClipSplit split) => Clips.Where(c => c.Split == split);

    /// <summary>
    /// The same clips with the tasks in <paramref name="order"/> (the old task indices, a permutation of all of them): task t of the
    /// result is old task order[t]; each clip's task is renumbered and the clips are task-ordered again (their order within a task
    /// kept). Anything else is refused with what is wrong.
    /// </summary>
    public ClipManifest Reordered(IReadOnlyList<int> order)
    {
        var count = Tasks.Tasks.Count;
        if (order.Count != count || order.Distinct().Count() != count || order.Any(t => t < 0 || t >= count))
        {
            throw new UserInputException(
                $"task_order [{string.Join(", ", order)}] is not an order of the {count} tasks of {Source}: list each of 0..{count - 1} once");
        }

        var newIndex = new int[count];
        for (var t = 0; t < count; t++)
        {
            newIndex[order[t]] = t;
        }

        var tasks = new TaskMap(Tasks.Benchmark, order.Select(t => Tasks.Tasks[t]).ToList());
        // Rows of no task (the warm-up's base rows, task -1) keep it and come first; OrderBy is stable, so each task's clips keep
        // their order.
        var clips = Clips.Select(c => c.Task >= 0 ? c with { Task = newIndex[c.Task] } : c).OrderBy(c => c.Task).ToList();
        return this with { Tasks = tasks, Clips = clips };
    }
}
