using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;
using Stella.Core.Manifests;

namespace Stella.Core.Tasks;

/// <summary>
/// A task split as data (<c>pipelines/tasks/*.yaml</c>): the thesis' Continual-VS rule (categories per task, first N classes
/// in class-index order) or Continual-AS class lists.
/// </summary>
public sealed class TaskSplitFile
{
    /// <summary>Benchmark name.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>Dataset: vggsound or audioset.</summary>
    public string Dataset { get; set; } = string.Empty;

    /// <summary>Classes taken per task by the VGGSound rule. Default 20.</summary>
    public int ClassesPerTask { get; set; } = 20;

    /// <summary>Training clips kept per class (first N in file order). 0 keeps all.</summary>
    public int TrainClipsPerClass { get; set; }

    /// <summary>Retrieval clips per class, when no retrieval list is given. Default 5.</summary>
    public int RetrievalClipsPerClass { get; set; } = 5;

    /// <summary>Tasks in training order.</summary>
    public List<TaskSpec> Tasks { get; set; } = [];

    /// <summary>Loads a split file; unknown keys and missing task names are errors that name the file and line.</summary>
    public static TaskSplitFile Load(string path)
    {
        var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
        TaskSplitFile file;
        try
        {
            file = deserializer.Deserialize<TaskSplitFile>(File.ReadAllText(path)) ?? new TaskSplitFile();
        }
        catch (YamlException e)
        {
            throw new ManifestException(path, (int)e.Start.Line, e.InnerException?.Message ?? e.Message, e);
        }

        if (file.Tasks.Count == 0)
        {
            throw new ManifestException(path, 0, "no tasks listed");
        }

        var unnamed = file.Tasks.FindIndex(t => string.IsNullOrWhiteSpace(t.Name));
        if (unnamed >= 0)
        {
            throw new ManifestException(path, 0, $"task {unnamed} has no name");
        }

        return file;
    }

    /// <summary>The task map of an explicit class-list split (Continual-AS).</summary>
    public TaskMap ToTaskMap(string source) =>
        Tasks.Any(t => t.Classes.Count == 0)
            ? throw new ManifestException(source, 0, $"task '{Tasks.First(t => t.Classes.Count == 0).Name}' lists no classes; this split needs a category file (use ApplyCategoryRule)")
            : new TaskMap(Name, Tasks.Select(t => new TaskDefinition(t.Name, t.Classes)).ToList(), source);

    /// <summary>
    /// Applies the Continual-VS rule to VGGSound's class list (<paramref name="classes"/>: label and category, in class-index
    /// order): each task walks the classes in order, skips those an earlier task took, and takes the first
    /// <see cref="ClassesPerTask"/> whose category it lists or that it names in <c>extra_classes</c>.
    /// </summary>
    public TaskMap ApplyCategoryRule(IReadOnlyList<(string Label, string Category)> classes, string source)
    {
        var known = classes.Select(c => c.Label).ToHashSet(StringComparer.Ordinal);
        foreach (var spec in Tasks)
        {
            var missing = spec.ExtraClasses.Where(e => !known.Contains(e)).ToList();
            if (missing.Count > 0)
            {
                throw new ManifestException(source, 0, $"task '{spec.Name}' names classes that the category file lacks: {string.Join(", ", missing)}");
            }
        }

        var taken = new HashSet<string>(StringComparer.Ordinal);
        var tasks = new List<TaskDefinition>();
        foreach (var spec in Tasks)
        {
            var chosen = classes
                .Where(c => !taken.Contains(c.Label) && (spec.Categories.Contains(c.Category) || spec.ExtraClasses.Contains(c.Label)))
                .Take(ClassesPerTask)
                .Select(c => c.Label)
                .ToList();
            if (chosen.Count == 0)
            {
                throw new ManifestException(source, 0, $"task '{spec.Name}' gets no class: no class of categories [{string.Join(", ", spec.Categories)}] is left");
            }

            taken.UnionWith(chosen);
            tasks.Add(new TaskDefinition(spec.Name, chosen));
        }

        return new TaskMap(Name, tasks, source);
    }
}
