namespace Stella.Continual.Learning;

/// <summary>Settings shared by the learners. Defaults: thesis Tables 2.4-2.5 and the reference, scaled to the CPU preset.</summary>
public sealed record LearnerOptions
{
    /// <summary>Memory budget in bytes of item payload; the same for every method, so STELLA+ holds more items. Default 64 MiB.</summary>
    public long MemoryBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Memory size in items; when set, it overrides <see cref="MemoryBytes"/>.</summary>
    public int? MemoryItems { get; init; }

    /// <summary>MIR: candidates drawn per replayed item. Default 5.</summary>
    public int MirSearchFactor { get; init; } = 5;

    /// <summary>MIR: learning rate of the virtual SGD step. Default 0.1 (as in the MIR paper's default).</summary>
    public double MirVirtualLearningRate { get; init; } = 0.1;

    /// <summary>LUMP: alpha of the Beta(alpha, alpha) mixing coefficient. Default 0.5.</summary>
    public double LumpAlpha { get; init; } = 0.5;

    /// <summary>Seed of the learner's own choices (reservoir, replay draws, mixing). Default 0.</summary>
    public ulong Seed { get; init; }
}
