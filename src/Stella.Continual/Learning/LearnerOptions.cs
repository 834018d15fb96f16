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

    /// <summary>GMED: the edit's step size alpha (x += alpha (g_after - g_before + beta g_before)). Table 2.4: 0.1.</summary>
    public double GmedStride { get; init; } = 0.1;

    /// <summary>GMED: beta, the share of the plain loss ascent in the edit. Table 2.4: 0.05 (Continual-VS).</summary>
    public double GmedRegularization { get; init; } = 0.05;

    /// <summary>CLS-ER: lambda, the weight of the consistency penalty. Table 2.4: 0.1.</summary>
    public double ClsErWeight { get; init; } = 0.1;

    /// <summary>CLS-ER: decay of the plastic and the stable model (alpha_P, alpha_S). Table 2.4: 0.999 both.</summary>
    public double ClsErDecay { get; init; } = 0.999;

    /// <summary>CLS-ER: update probability of the plastic model (r_P). Table 2.4: 0.8.</summary>
    public double ClsErPlasticRate { get; init; } = 0.8;

    /// <summary>CLS-ER: update probability of the stable model (r_S). Table 2.4: 0.6.</summary>
    public double ClsErStableRate { get; init; } = 0.6;

    /// <summary>ESMER: gamma, the weight of the semantic-memory penalty. Table 2.4: 0.15 (Continual-VS).</summary>
    public double EsmerWeight { get; init; } = 0.15;

    /// <summary>ESMER: decay of the semantic memory (alpha). Table 2.4: 0.999.</summary>
    public double EsmerDecay { get; init; } = 0.999;

    /// <summary>ESMER: update probability of the semantic memory (r). Table 2.4: 0.2.</summary>
    public double EsmerRate { get; init; } = 0.2;

    /// <summary>ESMER: decay of the running mean loss (alpha_l). Table 2.4: 0.99.</summary>
    public double EsmerLossDecay { get; init; } = 0.99;

    /// <summary>ESMER: beta, clips above the batch's mean + beta std do not update the running loss. Table 2.4: 1.0.</summary>
    public double EsmerStdMargin { get; init; } = 1.0;

    /// <summary>
    /// ESMER: a clip whose loss is at least this many times the running mean is down-weighted (weight mean / loss) and kept out of
    /// the memory. The authors' config: 2.5 (not in Table 2.4).
    /// </summary>
    public double EsmerLossMargin { get; init; } = 2.5;

    /// <summary>Seed of the learner's own choices (reservoir, replay draws, mixing). Default 0.</summary>
    public ulong Seed { get; init; }
}
