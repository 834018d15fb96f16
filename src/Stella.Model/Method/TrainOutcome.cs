using static TorchSharp.torch;

namespace Stella.Model;

/// <summary>What a backbone step returns.</summary>
/// <param name="MaeAudio">Audio reconstruction loss.</param>
/// <param name="MaeVideo">Video reconstruction loss.</param>
/// <param name="Contrastive">InfoNCE (unweighted).</param>
/// <param name="Extra">The extra term (DER++ penalty, weighted), 0 when none.</param>
/// <param name="PooledAudio">Pooled audio embeddings of the rows [B, D], detached (what DER++ stores).</param>
/// <param name="PooledVideo">Pooled video embeddings [B, D], detached.</param>
public sealed record TrainOutcome(float MaeAudio, float MaeVideo, float Contrastive, float Extra, Tensor PooledAudio, Tensor PooledVideo);
