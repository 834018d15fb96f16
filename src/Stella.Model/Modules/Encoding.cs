using static TorchSharp.torch;

namespace Stella.Model.Modules;

/// <summary>Unmasked encodings of full inputs.</summary>
/// <param name="JointAudio">Joint-block outputs of the audio tokens [B, M, D] (AVM input).</param>
/// <param name="JointVideo">Joint-block outputs of the video tokens [B, N, D].</param>
/// <param name="PooledAudio">Pooled unimodal audio embedding [B, D] (retrieval, DER++).</param>
/// <param name="PooledVideo">Pooled unimodal video embedding [B, D].</param>
/// <param name="ModalityAudio">Modality-block outputs of the audio tokens [B, M, D].</param>
/// <param name="ModalityVideo">Modality-block outputs of the video tokens [B, N, D].</param>
public sealed record Encoding(Tensor JointAudio, Tensor JointVideo, Tensor PooledAudio, Tensor PooledVideo, Tensor ModalityAudio, Tensor ModalityVideo);
