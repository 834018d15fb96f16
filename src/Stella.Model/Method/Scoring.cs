using Stella.Model.Modules;
using Stella.Model.Runtime;
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
    public static Tensor Importance(Tensor scores, double beta)
    {
        using var scaled = scores.Over(beta);
        using var weights = scaled.softmax(-1);
        using var overHeads = weights.mean([1]);
        return overHeads.mean([1]);
    }

    /// <summary>Indices [B, kappa] of the kappa most important tokens, most important first.</summary>
    public static Tensor TopTokens(Tensor importance, int kappa)
    {
        var (values, indexes) = importance.topk(kappa, 1, largest: true, sorted: true);
        values.Dispose();
        return indexes;
    }

    /// <summary>
    /// SORT: q_hat [B, H, d], the mean of <paramref name="queries"/> [B, H, L, d] over the tokens <paramref name="top"/> [B, kappa],
    /// weighted by their importance.
    /// </summary>
    public static Tensor WeightedQuery(Tensor queries, Tensor importance, Tensor top)
    {
        var (b, h, _, d) = (queries.shape[0], queries.shape[1], queries.shape[2], queries.shape[3]);
        var k = top.shape[1];
        using var picked = GatherTop(queries, top);
        using var raw = importance.gather(1, top);
        using var total = raw.sum(1, keepdim: true);
        using var normalized = raw.div(total);
        using var weights = normalized.view(b, 1, k, 1);
        using var weighted = picked.mul(weights);
        return weighted.sum(2);
    }

    /// <summary>
    /// COMPARE: correlation probabilities [B, L] of the tokens whose keys are <paramref name="keys"/> [B, H, L, d]: for the top tokens
    /// <paramref name="top"/>, mean over heads of sigmoid(q_past . k - q_cur . k) / sqrt(d) (the softmax over [past, current]);
    /// 0 for the other tokens. <paramref name="pastQuery"/> and <paramref name="currentQuery"/> are [B, H, d], paired row by row.
    /// </summary>
    public static Tensor Correlation(Tensor pastQuery, Tensor currentQuery, Tensor keys, Tensor top)
    {
        var (b, l, d) = (keys.shape[0], keys.shape[2], keys.shape[3]);
        using var topKeys = GatherTop(keys, top);
        var scale = 1.0 / Math.Sqrt(d);
        using var pastRaw = Similarity(topKeys, pastQuery);
        using var currentRaw = Similarity(topKeys, currentQuery);
        using var past = pastRaw.Times(scale);
        using var current = currentRaw.Times(scale);
        using var difference = past.Minus(current);
        using var probability = difference.sigmoid();
        using var p = probability.mean([1]);
        using var zeros = torch.zeros(b, l, dtype: p.dtype, device: p.device);
        return zeros.scatter(1, top, p);
    }

    // The rows of x [B, H, L, d] at the tokens top [B, kappa], for every head: [B, H, kappa, d].
    private static Tensor GatherTop(Tensor x, Tensor top)
    {
        var (b, h, d) = (x.shape[0], x.shape[1], x.shape[3]);
        var k = top.shape[1];
        using var index = top.view(b, 1, k, 1);
        using var expanded = index.expand(b, h, k, d);
        return x.gather(2, expanded);
    }

    // keys [B, H, kappa, d] . query [B, H, d] -> [B, H, kappa].
    private static Tensor Similarity(Tensor keys, Tensor query)
    {
        using var column = query.unsqueeze(-1);
        using var product = keys.matmul(column);
        return product.squeeze(-1);
    }
}
