using Stella.Model.Runtime;
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
    public static Tensor InfoNce(Tensor audio, Tensor video, double tau = 0.05) => Nce(audio, video, tau, nn.Reduction.Mean);

    /// <summary>
    /// The InfoNCE of <see cref="InfoNce"/> row by row [B]: each pair's own (audio -> video + video -> audio) / 2 against the batch's
    /// other rows; their mean is <see cref="InfoNce"/>. ESMER weighs the loss of each clip with it.
    /// </summary>
    public static Tensor InfoNceRows(Tensor audio, Tensor video, double tau = 0.05) => Nce(audio, video, tau, nn.Reduction.None);

    // Both directions' cross entropy of the in-batch similarity over tau, averaged, with the given reduction over the rows.
    private static Tensor Nce(Tensor audio, Tensor video, double tau, nn.Reduction reduction)
    {
        using var a = nn.functional.normalize(audio, 2, -1);
        using var v = nn.functional.normalize(video, 2, -1);
        using var vt = v.t();
        using var similarity = a.matmul(vt);
        using var logits = similarity.Over(tau);
        using var logitsT = logits.t();
        using var target = TensorOps.Range(0, audio.shape[0], audio.device);
        using var audioToVideo = nn.functional.cross_entropy(logits, target, reduction: reduction);
        using var videoToAudio = nn.functional.cross_entropy(logitsT, target, reduction: reduction);
        using var sum = audioToVideo.Plus(videoToAudio);
        return sum.Over(2);
    }

    /// <summary>DER++ penalty: MSE of the stored pooled embeddings of replayed items against the current ones, audio plus video.</summary>
    public static Tensor DerPenalty(Tensor storedAudio, Tensor storedVideo, Tensor currentAudio, Tensor currentVideo)
    {
        using var audio = nn.functional.mse_loss(currentAudio, storedAudio);
        using var video = nn.functional.mse_loss(currentVideo, storedVideo);
        return audio.Plus(video);
    }
}
