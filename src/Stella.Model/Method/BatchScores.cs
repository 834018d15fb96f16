using static TorchSharp.torch;

namespace Stella.Model;

/// <summary>Per-item scores of a batch, computed with the AVM before its update; STELLA stores them in the rehearsal memory.</summary>
/// <param name="AudioImportance">I_a [B, M].</param>
/// <param name="VideoImportance">I_v [B, N].</param>
/// <param name="AudioCorrelation">p_a [B, M] (null when memory was empty).</param>
/// <param name="VideoCorrelation">p_v [B, N] (null when memory was empty).</param>
/// <param name="QueryAudio">q_hat_a [B, H, d].</param>
/// <param name="QueryVideo">q_hat_v [B, H, d].</param>
public sealed record BatchScores(Tensor AudioImportance, Tensor VideoImportance, Tensor? AudioCorrelation, Tensor? VideoCorrelation, Tensor QueryAudio, Tensor QueryVideo);
