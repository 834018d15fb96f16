namespace Stella.Pipeline.Shards;

/// <summary>One row of a shard, as listed in its metadata.</summary>
/// <param name="ClipId">Clip id.</param>
/// <param name="Task">Task.</param>
/// <param name="Label">Label.</param>
/// <param name="Split">Split name.</param>
/// <param name="Window">"train" or "eval".</param>
/// <param name="Index">Position in the task's training list (-1 for eval windows).</param>
/// <param name="Row">The clip's row in the source manifest (the reader restores the manifest's order from it).</param>
public sealed record ShardEntry(string ClipId, int Task, string Label, string Split, string Window, int Index, int Row);
