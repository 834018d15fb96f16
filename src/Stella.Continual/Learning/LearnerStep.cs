namespace Stella.Continual.Learning;

/// <summary>What one learner step did.</summary>
/// <param name="MaeAudio">Audio reconstruction loss.</param>
/// <param name="MaeVideo">Video reconstruction loss.</param>
/// <param name="Contrastive">InfoNCE.</param>
/// <param name="Penalty">DER++ penalty (weighted), 0 when none.</param>
/// <param name="Avm">AVM loss, NaN for learners without an AVM.</param>
/// <param name="Replayed">Memory items in the training batch.</param>
public sealed record LearnerStep(float MaeAudio, float MaeVideo, float Contrastive, float Penalty, float Avm, int Replayed);
