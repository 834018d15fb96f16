using TorchSharp;
using Stella.Model.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Stella.Model.Modules;

/// <summary>
/// Audio-Video Matching module (thesis Eqs. 2.1, 2.10, 2.11): per-modality LayerNorm, bias-free q/k/v projections, H heads of
/// cross-attention, pooled concat -> FC -> tanh -> FC -> logit. Heads are merged with a proper permute (the reference
/// code's raw reshape mixes heads and tokens; that quirk is not replicated).
/// </summary>
public sealed class Avm : nn.Module<Tensor, Tensor, AvmOutput>
{
    private readonly LayerNorm norm_a;
    private readonly LayerNorm norm_v;
    private readonly Linear q_a;
    private readonly Linear k_a;
    private readonly Linear v_a;
    private readonly Linear q_v;
    private readonly Linear k_v;
    private readonly Linear v_v;
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly int _heads;

    /// <summary>Creates the module for token width <paramref name="dim"/>; weights ~ N(0, 0.02) as the reference.</summary>
    public Avm(int dim, int heads) : base(nameof(Avm))
    {
        _heads = heads;
        norm_a = nn.LayerNorm(dim, 1e-6);
        norm_v = nn.LayerNorm(dim, 1e-6);
        q_a = nn.Linear(dim, dim, hasBias: false);
        k_a = nn.Linear(dim, dim, hasBias: false);
        v_a = nn.Linear(dim, dim, hasBias: false);
        q_v = nn.Linear(dim, dim, hasBias: false);
        k_v = nn.Linear(dim, dim, hasBias: false);
        v_v = nn.Linear(dim, dim, hasBias: false);
        fc1 = nn.Linear(2 * dim, 2 * dim);
        fc2 = nn.Linear(2 * dim, 1);
        RegisterComponents();
        using (torch.no_grad())
        {
            foreach (var linear in new[] { q_a, k_a, v_a, q_v, k_v, v_v, fc1, fc2 })
            {
                nn.init.normal_(linear.weight!, 0, 0.02);
                if (linear.bias is { } bias)
                {
                    nn.init.zeros_(bias);
                }
            }
        }
    }

    /// <summary>Heads H.</summary>
    public int Heads => _heads;

    /// <summary>
    /// Only what scoring needs: the scaled cross-attention scores and the queries and keys (no values, no matching head;
    /// <see cref="AvmOutput.Logit"/> is empty). Half the attention work of <see cref="forward"/>.
    /// </summary>
    public AvmOutput Scores(Tensor audio, Tensor video)
    {
        using var a = norm_a.forward(audio);
        using var v = norm_v.forward(video);
        var (qa, ka) = (Project(q_a, a), Project(k_a, a));
        var (qv, kv) = (Project(q_v, v), Project(k_v, v));
        return new AvmOutput(torch.empty(0), ScaledScores(qa, kv), ScaledScores(qv, ka), qa, ka, qv, kv);
    }

    /// <inheritdoc />
    public override AvmOutput forward(Tensor audio, Tensor video)
    {
        using var a = norm_a.forward(audio);
        using var v = norm_v.forward(video);
        var (qa, ka) = (Project(q_a, a), Project(k_a, a));
        var (qv, kv) = (Project(q_v, v), Project(k_v, v));
        using var va = Project(v_a, a);
        using var vv = Project(v_v, v);
        var av = ScaledScores(qa, kv);
        var va2 = ScaledScores(qv, ka);
        using var xa = Attend(av, vv);
        using var xv = Attend(va2, va);
        using var pooledVideo = xv.mean([1]);
        using var pooledAudio = xa.mean([1]);
        using var pooled = torch.cat([pooledVideo, pooledAudio], -1);
        using var hidden = fc1.forward(pooled);
        using var activated = hidden.tanh();
        using var logit = fc2.forward(activated);
        return new AvmOutput(logit.squeeze(-1), av, va2, qa, ka, qv, kv);
    }

    // The projection of x [B, L, D] split into heads [B, H, L, d] (intermediate handles disposed: nothing else holds the projection).
    private Tensor Project(Linear projection, Tensor x)
    {
        var (b, l, d) = (x.shape[0], x.shape[1], x.shape[2]);
        using var projected = projection.forward(x);
        using var heads = projected.reshape(b, l, _heads, d / _heads);
        return heads.transpose(1, 2);
    }

    // q k^T / sqrt(d) [B, H, Lq, Lk].
    private static Tensor ScaledScores(Tensor queries, Tensor keys)
    {
        using var transposed = keys.transpose(-2, -1);
        using var scores = queries.matmul(transposed);
        return scores.Times(1.0 / Math.Sqrt(queries.shape[3]));
    }

    // softmax(scores) v, heads merged back [B, Lq, H * d].
    private static Tensor Attend(Tensor scores, Tensor values)
    {
        using var weights = scores.softmax(-1);
        using var attended = weights.matmul(values);
        var (b, h, l, d) = (attended.shape[0], attended.shape[1], attended.shape[2], attended.shape[3]);
        using var swapped = attended.transpose(1, 2);
        return swapped.reshape(b, l, h * d);
    }
}
