using System.Text.Json;
using Stella.Core;
using System.Text.Json.Serialization;

namespace Stella.Pipeline;

/// <summary>
/// results.json, the contract between a run and the tools that read it (compare, benchmarks, scripts): the job writes this type
/// and the readers read it back as this type. A figure that could not be measured is null, never a number made up.
/// </summary>
public sealed record RunResults
{
    /// <summary>The options results.json is written and read with (a non-finite figure as null).</summary>
    public static JsonSerializerOptions Json => Stella.Core.Json.ReportJson.Options;

    /// <summary>Method name.</summary>
    [JsonPropertyName("method")] public required string Method { get; init; }

    /// <summary>Run seed.</summary>
    [JsonPropertyName("seed")] public required int Seed { get; init; }

    /// <summary>Model preset.</summary>
    [JsonPropertyName("model")] public required string Model { get; init; }

    /// <summary>Task names in stream order.</summary>
    [JsonPropertyName("tasks")] public required IReadOnlyList<string> Tasks { get; init; }

    /// <summary>After which tasks the evaluations ran (one joint entry for a Multitask stream).</summary>
    [JsonPropertyName("evaluated_after")] public required IReadOnlyList<string> EvaluatedAfter { get; init; }

    /// <summary>Audio-to-video retrieval: R@1, R@5, R@10 (accuracy matrix, A, F) and their mean ("avg").</summary>
    [JsonPropertyName("a2v")] public required IReadOnlyDictionary<string, RecallScores> A2V { get; init; }

    /// <summary>Video-to-audio retrieval.</summary>
    [JsonPropertyName("v2a")] public required IReadOnlyDictionary<string, RecallScores> V2A { get; init; }

    /// <summary>Modality gap per task, after each evaluation.</summary>
    [JsonPropertyName("modality_gap")] public required IReadOnlyList<double?[]> ModalityGap { get; init; }

    /// <summary>Mean modality gap over the tasks seen, after each evaluation.</summary>
    [JsonPropertyName("modality_gap_seen")] public required IReadOnlyList<double?> ModalityGapSeen { get; init; }

    /// <summary>Modality gap per task after the last evaluation.</summary>
    [JsonPropertyName("modality_gap_final")] public required double?[] ModalityGapFinal { get; init; }

    /// <summary>Localization accuracy (%) per task after each evaluation; null where there is no ground truth.</summary>
    [JsonPropertyName("localization")] public required IReadOnlyList<double?[]> Localization { get; init; }

    /// <summary>
    /// Localization (%) per task after each evaluation by the AVM's video importance, measured for every learner (a learner that
    /// does not train its AVM keeps its initial or warm-up one): the same instrument across methods. Null in results.json files
    /// written before both instruments were kept, or when one evaluation of the run lacks it (a resumed older checkpoint).
    /// </summary>
    [JsonPropertyName("localization_avm")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<double?[]>? LocalizationAvm { get; init; }

    /// <summary>Localization (%) per task after each evaluation by the video tokens' cosine with the pooled audio (no AVM), for every learner; null as <see cref="LocalizationAvm"/>.</summary>
    [JsonPropertyName("localization_cosine")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<double?[]>? LocalizationCosine { get; init; }

    /// <summary>Linear-probe accuracy (%) per task after each evaluation; null without a probe set.</summary>
    [JsonPropertyName("linear_probe")] public IReadOnlyList<double?[]>? LinearProbe { get; init; }

    /// <summary>Training throughput and memory.</summary>
    [JsonPropertyName("efficiency")] public required RunEfficiency Efficiency { get; init; }

    /// <summary>Clips quarantined.</summary>
    [JsonPropertyName("quarantined")] public required int Quarantined { get; init; }

    /// <summary>Hash of the settings that change results.</summary>
    [JsonPropertyName("config_hash")] public required string ConfigHash { get; init; }

    /// <summary>
    /// The rank of every retrieval query in every evaluation, which <see cref="A2V"/> and <see cref="V2A"/> are computed from
    /// (<see cref="Results.ScoresFromRanks"/>): what a paired bootstrap over clips resamples. Null in results.json files written
    /// before ranks were kept, and where an evaluation of the run had none (a checkpoint of such a version resumed).
    /// </summary>
    [JsonPropertyName("ranks")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public RunRanks? Ranks { get; init; }

    /// <summary>Reads a results.json; a file that is not one is refused by name.</summary>
    public static RunResults Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<RunResults>(File.ReadAllText(path), Json) ?? throw new UserInputException($"{path}: empty results file");
        }
        catch (JsonException e)
        {
            throw new UserInputException($"{path}: not a results.json of this version ({e.Message})", e);
        }
    }

    /// <summary>Writes this to <paramref name="path"/>.</summary>
    public void Write(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, Json));

    /// <summary>A finite value, or null (JSON has no NaN).</summary>
    public static double? Finite(double value, int digits) => double.IsFinite(value) ? Math.Round(value, digits) : null;
}
