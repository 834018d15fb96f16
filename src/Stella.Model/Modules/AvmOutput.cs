using static TorchSharp.torch;

namespace Stella.Model.Modules;

/// <summary>What one AVM pass computes: the matching logit, the scaled cross-attention scores, and queries/keys for RCA.</summary>
/// <param name="Logit">Matching logit per pair [B].</param>
/// <param name="AudioToVideo">q_a k_v^T / sqrt(d): audio queries over video keys [B, H, M, N].</param>
/// <param name="VideoToAudio">q_v k_a^T / sqrt(d): video queries over audio keys [B, H, N, M].</param>
/// <param name="QueryAudio">Audio queries [B, H, M, d].</param>
/// <param name="KeyAudio">Audio keys [B, H, M, d].</param>
/// <param name="QueryVideo">Video queries [B, H, N, d].</param>
/// <param name="KeyVideo">Video keys [B, H, N, d].</param>
public sealed record AvmOutput(Tensor Logit, Tensor AudioToVideo, Tensor VideoToAudio, Tensor QueryAudio, Tensor KeyAudio, Tensor QueryVideo, Tensor KeyVideo);
