using Stella.Model.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Model;

/// <summary>
/// Probabilistic patch selection (thesis Eqs. 2.5-2.6, Algorithm 1, and the reference code where the thesis is open).
/// Video: prune ~ Bernoulli(p), zero the pruned importance, then sample kappa tokens without replacement in proportion to the
/// remaining importance (Gumbel-top-k, which equals successive multinomial draws). Audio: whole time chunks of L_c steps drawn in
/// proportion to their importance, the last one trimmed to hit kappa exactly. With no correlation yet (empty memory) both are the
/// deterministic top-kappa. Pruned tokens are taken only when too few others remain.
/// </summary>
public static class PatchSelector
{
    // Pruned tokens rank after every unpruned one but keep their own order among themselves.
    private static readonly Scalar PrunedPenalty = 1e4f.ToScalar();
    private static readonly Scalar Tiny = 1e-30.ToScalar();
    private static readonly Scalar GumbelLow = 1e-20.ToScalar();
    private static readonly Scalar GumbelHigh = (1 - 1e-7).ToScalar();

    /// <summary>kappa = int(L * rho).</summary>
    public static int Kappa(int tokens, double rho) =>
        rho is > 0 and <= 1 ? Math.Max(1, (int)(tokens * rho)) : throw new ArgumentOutOfRangeException(nameof(rho), rho, "the sampling ratio must be in (0, 1]");

    /// <summary>Selects kappa video tokens [B, kappa] from importance [B, N] and prune probabilities [B, N] (null: first step).</summary>
    public static Tensor SelectVideo(Tensor importance, Tensor? pruneProbability, int kappa, Generator generator)
    {
        if (pruneProbability is null)
        {
            return Scoring.TopTokens(importance, kappa);
        }

        using var draw = torch.bernoulli(pruneProbability, generator);
        using var prune = draw.to(ScalarType.Bool);
        using var clamped = importance.clamp_min(Tiny);
        using var logs = clamped.log_();
        using var gumbel = Gumbel(importance.shape, generator, importance.device);
        using var keys = logs.Plus(gumbel);
        using var penalized = keys.sub(PrunedPenalty);
        using var ranked = torch.where(prune, penalized, keys);
        return Scoring.TopTokens(ranked, kappa);
    }

    /// <summary>
    /// Selects kappa audio tokens [B, kappa] (ascending token order) from importance [B, T * F] (time-major) and prune
    /// probabilities (null: first step, top-kappa), in time chunks of <paramref name="chunk"/> steps.
    /// </summary>
    public static Tensor SelectAudio(Tensor importance, Tensor? pruneProbability, int kappa, int timeTokens, int freqTokens, int chunk, Generator generator)
    {
        if (pruneProbability is null)
        {
            return Scoring.TopTokens(importance, kappa);
        }

        var (b, m) = ((int)importance.shape[0], (int)importance.shape[1]);
        if (m != timeTokens * freqTokens)
        {
            throw new ArgumentException($"audio importance has {m} tokens, expected {timeTokens} x {freqTokens}");
        }

        var chunks = (timeTokens + chunk - 1) / chunk;
        // Host copies of the draws and scores; the tensors die with this scope, before the result is made.
        bool[] prune;
        float[] scores, gumbel, coins;
        using (torch.NewDisposeScope())
        {
            prune = torch.bernoulli(pruneProbability, generator).to(ScalarType.Bool).cpu().data<bool>().ToArray();
            scores = importance.detach().cpu().to(ScalarType.Float32).data<float>().ToArray();
            gumbel = Gumbel([b, chunks], generator, CPU).data<float>().ToArray();
            coins = torch.rand([b], generator: generator).data<float>().ToArray();
        }

        var result = new long[b * kappa];
        for (var i = 0; i < b; i++)
        {
            var selected = SelectChunks(
                scores.AsSpan(i * m, m), prune.AsSpan(i * m, m), gumbel.AsSpan(i * chunks, chunks), coins[i], kappa, timeTokens, freqTokens, chunk);
            selected.CopyTo(result.AsSpan(i * kappa, kappa));
        }

        return torch.tensor(result, [b, kappa], device: importance.device);
    }

    /// <summary>Algorithm 1 for one sample; returns kappa token indices in ascending order. Exposed for tests.</summary>
    public static long[] SelectChunks(
        ReadOnlySpan<float> importance, ReadOnlySpan<bool> prunedIn, ReadOnlySpan<float> gumbel, float coin, int kappa, int timeTokens, int freqTokens, int chunk)
    {
        var chunks = (timeTokens + chunk - 1) / chunk;
        var pruned = prunedIn.ToArray();

        // Chunk score = mean over its time steps of the importance summed over frequency (avg_pool of the time profile).
        var order = new int[chunks];
        var keys = new float[chunks];
        for (var c = 0; c < chunks; c++)
        {
            double sum = 0;
            var (t0, t1) = (c * chunk, Math.Min((c + 1) * chunk, timeTokens));
            for (var t = t0; t < t1; t++)
            {
                for (var f = 0; f < freqTokens; f++)
                {
                    sum += importance[(t * freqTokens) + f];
                }
            }

            keys[c] = (float)Math.Log(Math.Max(sum / (t1 - t0), 1e-30)) + gumbel[c];
            order[c] = c;
        }

        Array.Sort(keys.Select(k => -k).ToArray(), order);
        var taken = new bool[chunks];
        var count = 0;
        for (var j = 0; j < chunks; j++)
        {
            var c = order[j];
            taken[c] = true;
            var (start, end) = (c * chunk * freqTokens, Math.Min((c + 1) * chunk, timeTokens) * freqTokens);
            for (var p = start; p < end; p++)
            {
                count += pruned[p] ? 0 : 1;
            }

            if (count < kappa)
            {
                continue;
            }

            // Trim the excess from the side away from the taken neighbour, so the kept part stays contiguous with it.
            var excess = count - kappa;
            var previous = c > 0 && taken[c - 1];
            var next = c + 1 < chunks && taken[c + 1];
            var fromEnd = (previous && !next) || (previous == next && coin < 0.5f);
            for (var k = 0; k < end - start && excess > 0; k++)
            {
                var p = fromEnd ? end - 1 - k : start + k;
                if (!pruned[p])
                {
                    pruned[p] = true;
                    excess--;
                }
            }

            for (var later = j + 1; later < chunks; later++)
            {
                var lc = order[later];
                for (var p = lc * chunk * freqTokens; p < Math.Min((lc + 1) * chunk, timeTokens) * freqTokens; p++)
                {
                    pruned[p] = true;
                }
            }

            break;
        }

        // Stable argsort of the pruned flags: unpruned tokens in ascending order, then pruned ones if too few remain.
        var selected = new long[kappa];
        var n = 0;
        for (var pass = 0; pass < 2 && n < kappa; pass++)
        {
            for (var p = 0; p < pruned.Length && n < kappa; p++)
            {
                if (pruned[p] == (pass == 1))
                {
                    selected[n++] = p;
                }
            }
        }

        return selected;
    }

    private static Tensor Gumbel(ReadOnlySpan<long> shape, Generator generator, Device device)
    {
        // -log(-log(u)), u uniform in [1e-20, 1 - 1e-7].
        // In place: each call returns the same tensor, so nothing here may be disposed.
        var u = torch.rand(shape.ToArray(), generator: generator, device: device);
        return u.clamp_(GumbelLow, GumbelHigh).log_().neg_().log_().neg_();
    }
}
