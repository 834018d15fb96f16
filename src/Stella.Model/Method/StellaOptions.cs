namespace Stella.Model;

/// <summary>Settings of the STELLA step (defaults: thesis Tables 2.4-2.5 and the reference code).</summary>
public sealed record StellaOptions
{
    /// <summary>Audio sampling ratio rho_a: kappa_a = int(M * rho_a). Default 0.5.</summary>
    public double RhoAudio { get; init; } = 0.5;

    /// <summary>Video sampling ratio rho_v. Default 0.5.</summary>
    public double RhoVideo { get; init; } = 0.5;

    /// <summary>Attention temperature beta of the importance scores. Default 0.4.</summary>
    public double Beta { get; init; } = Scoring.DefaultBeta;

    /// <summary>Audio time chunk L_c in time tokens. Default 4.</summary>
    public int ChunkSize { get; init; } = 4;

    /// <summary>MAE mask ratio. Default 0.8.</summary>
    public double MaskRatio { get; init; } = 0.8;

    /// <summary>Weight of the contrastive (InfoNCE) loss. Default 0.1 (the thesis).</summary>
    public double ContrastiveWeight { get; init; } = Losses.ContrastiveWeight;

    /// <summary>Adam learning rate. Default 1e-4.</summary>
    public double LearningRate { get; init; } = 1e-4;

    /// <summary>Adam weight decay. Default 5e-7.</summary>
    public double WeightDecay { get; init; } = 5e-7;

    /// <summary>Seed of every random choice (masking, selection, negatives). Default 0.</summary>
    public ulong Seed { get; init; }
}
