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
}
