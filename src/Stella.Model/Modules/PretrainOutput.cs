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
