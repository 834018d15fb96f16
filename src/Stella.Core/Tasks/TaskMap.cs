using System.Text.Json;
using System.Text.Json.Serialization;
using Stella.Core.Manifests;

namespace Stella.Core.Tasks;

/// <summary>An ordered list of tasks, with a label-to-task lookup; read from and written to <c>tasks.json</c>.</summary>
public sealed class TaskMap
{
    private readonly Dictionary<string, int> _taskOf;

    /// <summary>Creates the map; a label listed in two tasks is refused.</summary>
    public TaskMap(string benchmark, IReadOnlyList<TaskDefinition> tasks, string source = "tasks")
    {
        Benchmark = benchmark;
        Tasks = tasks;
        _taskOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var t = 0; t < tasks.Count; t++)
        {
            foreach (var label in tasks[t].Classes)
            {
                if (!_taskOf.TryAdd(label, t))
                {
                    throw new ManifestException(source, 0,
                        $"class '{label}' is listed in task '{tasks[_taskOf[label]].Name}' and again in task '{tasks[t].Name}'");
                }
            }
        }
    }

    /// <summary>Benchmark name, e.g. "continual-vs".</summary>
    public string Benchmark { get; }

    /// <summary>Tasks in training order.</summary>
    public IReadOnlyList<TaskDefinition> Tasks { get; }

    /// <summary>Task index of <paramref name="label"/>, or null when the label is in no task.</summary>
    public int? TaskOf(string label) => _taskOf.TryGetValue(label, out var t) ? t : null;

    /// <summary>Writes <c>tasks.json</c>.</summary>
    public static void Write(string path, string benchmark, IReadOnlyList<TaskDefinition> tasks)
    {
        var file = new TaskFile(benchmark, tasks.Select((t, i) => new TaskEntry(i, t.Name, t.Classes.ToList())).ToList());
        File.WriteAllText(path, JsonSerializer.Serialize(file, JsonOptions));
    }

    /// <summary>Reads <c>tasks.json</c>.</summary>
    public static TaskMap Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new ManifestException(path, 0, "task file not found");
        }

        TaskFile? file;
        try
        {
            file = JsonSerializer.Deserialize<TaskFile>(File.ReadAllText(path), JsonOptions);
        }
        catch (JsonException e)
        {
            throw new ManifestException(path, (int)(e.LineNumber ?? 0) + 1, $"not a valid task file: {e.Message}", e);
        }

        if (file?.Tasks is null || file.Tasks.Count == 0)
        {
            throw new ManifestException(path, 0, "no tasks listed");
        }

        return new TaskMap(file.Benchmark ?? "unnamed", file.Tasks.Select(t => new TaskDefinition(t.Name, t.Classes)).ToList(), path);
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    private sealed record TaskFile(
        [property: JsonPropertyName("benchmark")] string? Benchmark,
        [property: JsonPropertyName("tasks")] List<TaskEntry> Tasks);

    private sealed record TaskEntry(
        [property: JsonPropertyName("index")] int Index,
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("classes")] List<string> Classes);
}
