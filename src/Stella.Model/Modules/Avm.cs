using TorchSharp;
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
        var a = norm_a.forward(audio);
        var v = norm_v.forward(video);
        var (qa, ka) = (Split(q_a.forward(a)), Split(k_a.forward(a)));
        var (qv, kv) = (Split(q_v.forward(v)), Split(k_v.forward(v)));
        var scale = 1.0 / Math.Sqrt(qa.shape[3]);
        return new AvmOutput(torch.empty(0), qa.matmul(kv.transpose(-2, -1)) * scale, qv.matmul(ka.transpose(-2, -1)) * scale, qa, ka, qv, kv);
    }

    /// <inheritdoc />
    public override AvmOutput forward(Tensor audio, Tensor video)
    {
        var a = norm_a.forward(audio);
        var v = norm_v.forward(video);
        var (qa, ka, va) = (Split(q_a.forward(a)), Split(k_a.forward(a)), Split(v_a.forward(a)));
        var (qv, kv, vv) = (Split(q_v.forward(v)), Split(k_v.forward(v)), Split(v_v.forward(v)));
        var scale = 1.0 / Math.Sqrt(qa.shape[3]);
        var av = qa.matmul(kv.transpose(-2, -1)) * scale;
        var va2 = qv.matmul(ka.transpose(-2, -1)) * scale;
        var xa = Merge(av.softmax(-1).matmul(vv));
        var xv = Merge(va2.softmax(-1).matmul(va));
        var pooled = torch.cat([xv.mean([1]), xa.mean([1])], -1);
        var logit = fc2.forward(fc1.forward(pooled).tanh()).squeeze(-1);
        return new AvmOutput(logit, av, va2, qa, ka, qv, kv);
    }

    private Tensor Split(Tensor x)
    {
        var (b, l, d) = (x.shape[0], x.shape[1], x.shape[2]);
        return x.reshape(b, l, _heads, d / _heads).transpose(1, 2);
    }

    private static Tensor Merge(Tensor x)
    {
        var (b, h, l, d) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        return x.transpose(1, 2).reshape(b, l, h * d);
    }
}
