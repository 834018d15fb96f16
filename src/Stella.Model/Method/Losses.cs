using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Model;

/// <summary>The losses of the backbone: InfoNCE and the DER++ penalty (the MAE loss lives in the backbone).</summary>
public static class Losses
{
    /// <summary>Weight of the contrastive loss in the total. Default 0.1.</summary>
    public const double ContrastiveWeight = 0.1;

    /// <summary>Weight of the DER++ penalty. Default 0.5.</summary>
    public const double PenaltyWeight = 0.5;

    /// <summary>InfoNCE in both directions on L2-normalized embeddings, averaged; <paramref name="tau"/> default 0.05.</summary>
    public static Tensor InfoNce(Tensor audio, Tensor video, double tau = 0.05)
    {
        var a = nn.functional.normalize(audio, 2, -1);
        var v = nn.functional.normalize(video, 2, -1);
        var logits = a.matmul(v.t()) / tau;
        var target = torch.arange(audio.shape[0], dtype: ScalarType.Int64, device: audio.device);
        return (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.t(), target)) / 2;
    }

    /// <summary>DER++ penalty: MSE of the stored pooled embeddings of replayed items against the current ones, audio plus video.</summary>
    public static Tensor DerPenalty(Tensor storedAudio, Tensor storedVideo, Tensor currentAudio, Tensor currentVideo) =>
        nn.functional.mse_loss(currentAudio, storedAudio) + nn.functional.mse_loss(currentVideo, storedVideo);
}
