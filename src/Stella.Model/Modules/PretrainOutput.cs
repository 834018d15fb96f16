using static TorchSharp.torch;

namespace Stella.Model.Modules;

/// <summary>Losses and pooled embeddings of one pre-training forward pass.</summary>
/// <param name="MaeAudio">Audio reconstruction loss (norm-pix MSE on masked patches).</param>
/// <param name="MaeVideo">Video reconstruction loss.</param>
/// <param name="Contrastive">InfoNCE, both directions averaged (not yet weighted).</param>
/// <param name="PooledAudio">Pooled unimodal audio embeddings [B, D] (what DER++ stores).</param>
/// <param name="PooledVideo">Pooled unimodal video embeddings [B, D].</param>
/// <param name="PerSampleMae">Audio plus video reconstruction loss of each row [B] (MIR ranks replay candidates by it).</param>
public sealed record PretrainOutput(Tensor MaeAudio, Tensor MaeVideo, Tensor Contrastive, Tensor PooledAudio, Tensor PooledVideo, Tensor PerSampleMae);

/// <summary>Unmasked encodings of full inputs.</summary>
/// <param name="JointAudio">Joint-block outputs of the audio tokens [B, M, D] (AVM input).</param>
/// <param name="JointVideo">Joint-block outputs of the video tokens [B, N, D].</param>
/// <param name="PooledAudio">Pooled unimodal audio embedding [B, D] (retrieval, DER++).</param>
/// <param name="PooledVideo">Pooled unimodal video embedding [B, D].</param>
/// <param name="ModalityAudio">Modality-block outputs of the audio tokens [B, M, D].</param>
/// <param name="ModalityVideo">Modality-block outputs of the video tokens [B, N, D].</param>
public sealed record Encoding(Tensor JointAudio, Tensor JointVideo, Tensor PooledAudio, Tensor PooledVideo, Tensor ModalityAudio, Tensor ModalityVideo);
