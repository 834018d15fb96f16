using System.Text.Json.Serialization;

namespace Stella.Pipeline;

/// <summary>
/// results.json's <c>ranks</c>: the 1-based rank of each retrieval query's true pair, per evaluation, task and query. Queries are
/// each task's retrieval clips in manifest order, so the same (task, query) is the same clip in every run over the same clips.
/// </summary>
public sealed record RunRanks
{
    /// <summary>Clip ids of the queries: [task][query] (the same in every evaluation).</summary>
    [JsonPropertyName("clips")] public required IReadOnlyList<string[]> Clips { get; init; }

    /// <summary>Audio-to-video ranks: [evaluation][task][query].</summary>
    [JsonPropertyName("a2v")] public required IReadOnlyList<int[][]> A2V { get; init; }

    /// <summary>Video-to-audio ranks: [evaluation][task][query].</summary>
    [JsonPropertyName("v2a")] public required IReadOnlyList<int[][]> V2A { get; init; }

    /// <summary>The ranks of one direction ("a2v" or "v2a").</summary>
    public IReadOnlyList<int[][]> Of(string direction) => direction switch
    {
        "a2v" => A2V,
        "v2a" => V2A,
        _ => throw new ArgumentException($"unknown direction '{direction}': a2v or v2a", nameof(direction)),
    };

    /// <summary>
    /// The ranks of a run's evaluations, or null when one of them has none or they do not query the same clips (a resumed
    /// checkpoint of an older version, or a retrieval clip quarantined in one process and not in the other).
    /// </summary>
    public static RunRanks? From(IReadOnlyList<Evaluation> evaluations)
    {
        if (evaluations.Count == 0 || evaluations.Any(e => e.Ranks is null))
        {
            return null;
        }

        var clips = evaluations[0].Ranks!.Clips;
        if (evaluations.Any(e => e.Ranks!.Clips.Length != clips.Length || e.Ranks.Clips.Zip(clips).Any(p => !p.First.SequenceEqual(p.Second))))
        {
            return null;
        }

        return new RunRanks { Clips = clips, A2V = evaluations.Select(e => e.Ranks!.A2V).ToList(), V2A = evaluations.Select(e => e.Ranks!.V2A).ToList() };
    }
}
