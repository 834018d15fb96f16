namespace Stella.Core.Tasks;

/// <summary>One task of a <see cref="TaskSplitFile"/>.</summary>
public sealed class TaskSpec
{
    /// <summary>Task name.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>VGGSound categories the task draws from.</summary>
    public List<string> Categories { get; set; } = [];

    /// <summary>Classes added to the candidates regardless of category.</summary>
    public List<string> ExtraClasses { get; set; } = [];

    /// <summary>AudioSet ontology parents mapped to the task (documentation; the class list decides).</summary>
    public List<string> Parents { get; set; } = [];

    /// <summary>Explicit class list (AudioSet display names).</summary>
    public List<string> Classes { get; set; } = [];
}
