namespace Stella.Continual.Learning;

/// <summary>What one learner step did.</summary>
/// <param name="MaeAudio">Audio reconstruction loss.</param>
/// <param name="MaeVideo">Video reconstruction loss.</param>
/// <param name="Contrastive">InfoNCE.</param>
/// <param name="Penalty">DER++ penalty (weighted), 0 when none.</param>
/// <param name="Avm">AVM loss, NaN for learners without an AVM.</param>
/// <param name="Replayed">Memory items in the training batch.</param>
public sealed record LearnerStep(float MaeAudio, float MaeVideo, float Contrastive, float Penalty, float Avm, int Replayed)
{
    /// <summary>Share of the AVM step's pairs (half matched, half deranged) the AVM told right before its update; 0.5 is chance. NaN without an AVM.</summary>
    public float AvmAccuracy { get; init; } = float.NaN;

    /// <summary>The selection of this step's clips (patch-selecting learners), else null.</summary>
    public SelectionStats? Selection { get; init; }
}

/// <summary>
/// What a patch selection kept, per modality, averaged over the batch: the AVM importance (LPIS, rows summing to 1) of the kept
/// tokens (rho of them: about rho when the pick ignores importance, up to 1 when it takes the most important), and the mean pruning
/// probability (RCA correlation) over the top-kappa tokens by importance, the expected share of them excluded (NaN before the
/// memory holds items).
/// </summary>
public sealed record SelectionStats(float ImportanceKeptAudio, float ImportanceKeptVideo, float PrunedTopAudio, float PrunedTopVideo);
