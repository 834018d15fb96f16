using System.Text.Json.Serialization;

namespace Stella.Pipeline;

/// <summary>What a run cost: over the whole run, across resumes.</summary>
public sealed record RunEfficiency
{
    /// <summary>Clips trained per second of training time.</summary>
    [JsonPropertyName("samples_per_s")] public double? SamplesPerSecond { get; init; }

    /// <summary>Mean time of one learner step.</summary>
    [JsonPropertyName("step_ms")] public double? StepMilliseconds { get; init; }

    /// <summary>Largest peak resident set of the processes that ran the run (null where /proc could not tell).</summary>
    [JsonPropertyName("peak_rss_mb")] public double? PeakRssMb { get; init; }

    /// <summary>Peak tensor memory: libtorch's CPU allocator keeps no peak statistics, so null.</summary>
    [JsonPropertyName("peak_tensor_mb")] public double? PeakTensorMb { get; init; }

    /// <summary>Parameters, gradients and Adam's two moments (4 x parameter bytes).</summary>
    [JsonPropertyName("model_state_mb")] public double? ModelStateMb { get; init; }

    /// <summary>Share of training time spent inside learner steps.</summary>
    [JsonPropertyName("trainer_busy_percent")] public double? TrainerBusyPercent { get; init; }

    /// <summary>Learner steps.</summary>
    [JsonPropertyName("steps")] public long Steps { get; init; }

    /// <summary>Clips trained on.</summary>
    [JsonPropertyName("train_clips")] public long TrainClips { get; init; }

    /// <summary>Items in the rehearsal memory at the end (null without one).</summary>
    [JsonPropertyName("memory_items")] public int? MemoryItems { get; init; }

    /// <summary>Bytes of one memory item.</summary>
    [JsonPropertyName("memory_item_bytes")] public long MemoryItemBytes { get; init; }

    /// <summary>MB of the method's extra models (CLS-ER's plastic and stable model, ESMER's semantic memory; 0 for the others), held within the memory budget.</summary>
    [JsonPropertyName("extra_models_mb")] public double ExtraModelsMb { get; init; }
}
