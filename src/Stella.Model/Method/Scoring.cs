using Stella.Model.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Model;

/// <summary>
/// Localized Patch Importance Scoring (Eq. 2.2) and Replay-guided Correlation Assessment (Eqs. 2.3-2.4), in the form of the
/// reference code: importance = softmax(scores / beta) averaged over heads and queries; q_hat = importance-weighted mean of
/// the queries over the top-kappa tokens; correlation p[j] = mean_h sigmoid(s_past - s_cur) on the top-kappa keys, 0 elsewhere.
/// </summary>
public static class Scoring
{
    /// <summary>Default attention temperature beta. 0.4.</summary>
    public const double DefaultBeta = 0.4;

    /// <summary>Video importance I_v [B, N] from audio-to-video scores [B, H, M, N]; each row sums to 1.</summary>
    public static Tensor VideoImportance(AvmOutput avm, double beta = DefaultBeta) => Importance(avm.AudioToVideo, beta);

    /// <summary>Audio importance I_a [B, M] from video-to-audio scores [B, H, N, M]; each row sums to 1.</summary>
    public static Tensor AudioImportance(AvmOutput avm, double beta = DefaultBeta) => Importance(avm.VideoToAudio, beta);

    /// <summary>softmax(scores / beta, over keys), mean over heads, mean over queries.</summary>
    public static Tensor Importance(Tensor scores, double beta) => (scores / beta).softmax(-1).mean([1]).mean([1]);

    /// <summary>Indices [B, kappa] of the kappa most important tokens, most important first.</summary>
    public static Tensor TopTokens(Tensor importance, int kappa) => importance.topk(kappa, 1, largest: true, sorted: true).indexes;

    /// <summary>
    /// SORT: q_hat [B, H, d], the mean of <paramref name="queries"/> [B, H, L, d] over the tokens <paramref name="top"/> [B, kappa],
    /// weighted by their importance.
    /// </summary>
    public static Tensor WeightedQuery(Tensor queries, Tensor importance, Tensor top)
    {
        var (b, h, _, d) = (queries.shape[0], queries.shape[1], queries.shape[2], queries.shape[3]);
        var k = top.shape[1];
        var picked = queries.gather(2, top.view(b, 1, k, 1).expand(b, h, k, d));
        var weights = importance.gather(1, top);
        weights = (weights / weights.sum(1, keepdim: true)).view(b, 1, k, 1);
        return (picked * weights).sum(2);
    }

    /// <summary>
    /// COMPARE: correlation probabilities [B, L] of the tokens whose keys are <paramref name="keys"/> [B, H, L, d]: for the top tokens
    /// <paramref name="top"/>, mean over heads of sigmoid(q_past . k - q_cur . k) / sqrt(d) (the softmax over [past, current]);
    /// 0 for the other tokens. <paramref name="pastQuery"/> and <paramref name="currentQuery"/> are [B, H, d], paired row by row.
    /// </summary>
    public static Tensor Correlation(Tensor pastQuery, Tensor currentQuery, Tensor keys, Tensor top)
    {
        var (b, h, l, d) = (keys.shape[0], keys.shape[1], keys.shape[2], keys.shape[3]);
        var k = top.shape[1];
        var topKeys = keys.gather(2, top.view(b, 1, k, 1).expand(b, h, k, d));
        var scale = 1.0 / Math.Sqrt(d);
        var past = topKeys.matmul(pastQuery.unsqueeze(-1)).squeeze(-1) * scale;
        var current = topKeys.matmul(currentQuery.unsqueeze(-1)).squeeze(-1) * scale;
        var p = (past - current).sigmoid().mean([1]);
        return torch.zeros(b, l, dtype: p.dtype, device: p.device).scatter(1, top, p);
    }
}
