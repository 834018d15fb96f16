namespace Stella.Pipeline.Shards;

/// <summary>What <c>stella memory show</c> writes and prints.</summary>
/// <param name="Markdown">memory.md: counts per task and the pictures of the items shown.</param>
/// <param name="Terminal">The same for a terminal: the counts, then a line per item shown with the paths of its pictures.</param>
public sealed record MemoryReportText(string Markdown, string Terminal);
