using static TorchSharp.torch;

namespace Stella.Model;

/// <summary>What one training step did: losses (as numbers) and, for STELLA, what the rehearsal memory stores per item.</summary>
/// <param name="MaeAudio">Audio reconstruction loss.</param>
/// <param name="MaeVideo">Video reconstruction loss.</param>
/// <param name="Contrastive">InfoNCE (unweighted).</param>
/// <param name="Avm">AVM BCE loss (NaN for steps without AVM).</param>
/// <param name="AudioSelected">Selected audio token indices [B, kappa_a] (null for full steps).</param>
/// <param name="VideoSelected">Selected video token indices [B, kappa_v].</param>
/// <param name="Scores">Importance, correlation and queries of the batch (null for full steps).</param>
public sealed record StepResult(
    float MaeAudio, float MaeVideo, float Contrastive, float Avm, Tensor? AudioSelected, Tensor? VideoSelected, BatchScores? Scores);
