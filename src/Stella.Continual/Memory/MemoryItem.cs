namespace Stella.Continual.Memory;

/// <summary>
/// One rehearsal-memory item, a row of a memory shard. Which arrays are filled depends on the method: STELLA keeps the raw patches,
/// pooled embeddings, q_hat and the stored importance and correlation; STELLA+ keeps only the selected patches with their token
/// indices, the embeddings and q_hat; ER/DER++ keep patches (and embeddings). Empty arrays cost nothing.
/// </summary>
public sealed class MemoryItem
{
    /// <summary>Reservoir slot.</summary>
    public int Slot { get; set; }

    /// <summary>Clip id (for inspection; the learner never reads it).</summary>
    public string ClipId { get; set; } = string.Empty;

    /// <summary>Task of the clip (for `memory show` statistics only; learners are task-free).</summary>
    public int Task { get; set; }

    /// <summary>Audio patches, flattened [tokens, P*P].</summary>
    public float[] AudioPatches { get; set; } = [];

    /// <summary>Video patches, flattened [tokens, 3*P*P].</summary>
    public float[] VideoPatches { get; set; } = [];

    /// <summary>Original token indices of <see cref="AudioPatches"/> (STELLA+; empty when all tokens are stored).</summary>
    public int[] AudioIndices { get; set; } = [];

    /// <summary>Original token indices of <see cref="VideoPatches"/>.</summary>
    public int[] VideoIndices { get; set; } = [];

    /// <summary>Pooled audio embedding at storage time (DER++ target).</summary>
    public float[] PooledAudio { get; set; } = [];

    /// <summary>Pooled video embedding at storage time.</summary>
    public float[] PooledVideo { get; set; } = [];

    /// <summary>q_hat_a [H * d].</summary>
    public float[] QueryAudio { get; set; } = [];

    /// <summary>q_hat_v [H * d].</summary>
    public float[] QueryVideo { get; set; } = [];

    /// <summary>Stored audio importance I_a.</summary>
    public float[] ImportanceAudio { get; set; } = [];

    /// <summary>Stored video importance I_v.</summary>
    public float[] ImportanceVideo { get; set; } = [];

    /// <summary>Stored audio correlation probabilities p_a.</summary>
    public float[] CorrelationAudio { get; set; } = [];

    /// <summary>Stored video correlation probabilities p_v.</summary>
    public float[] CorrelationVideo { get; set; } = [];

    /// <summary>Bytes of the payload (arrays), the unit of the memory budget.</summary>
    public long PayloadBytes =>
        (4L * (AudioPatches.Length + VideoPatches.Length + PooledAudio.Length + PooledVideo.Length + QueryAudio.Length + QueryVideo.Length
               + ImportanceAudio.Length + ImportanceVideo.Length + CorrelationAudio.Length + CorrelationVideo.Length))
        + (4L * (AudioIndices.Length + VideoIndices.Length));

    /// <summary>Items of <paramref name="itemBytes"/> that fit a budget of <paramref name="budgetBytes"/> (at least 1).</summary>
    public static int CapacityFor(long budgetBytes, long itemBytes) =>
        itemBytes <= 0 ? throw new ArgumentOutOfRangeException(nameof(itemBytes)) : (int)Math.Max(1, Math.Min(int.MaxValue, budgetBytes / itemBytes));
}
