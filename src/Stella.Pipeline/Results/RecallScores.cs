using System.Text.Json.Serialization;

namespace Stella.Pipeline;

/// <summary>One R@k of one direction: the accuracy matrix (row: after task, column: task evaluated), A and F.</summary>
public sealed record RecallScores
{
    /// <summary>R@k (%) per evaluation and task; absent for the "avg" entry.</summary>
    [JsonPropertyName("acc")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double[][]? Acc { get; init; }

    /// <summary>Average accuracy after the last task.</summary>
    [JsonPropertyName("A")] public required double A { get; init; }

    /// <summary>Forgetting (null when the matrix is not square, e.g. a joint stream).</summary>
    [JsonPropertyName("F")] public double? F { get; init; }
}
