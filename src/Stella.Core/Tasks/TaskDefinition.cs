namespace Stella.Core.Tasks;

/// <summary>A task of a continual benchmark: its name and the class labels it holds.</summary>
/// <param name="Name">Task name, e.g. "sports".</param>
/// <param name="Classes">Class labels (display names) in class-index order.</param>
public sealed record TaskDefinition(string Name, IReadOnlyList<string> Classes);
