using TorchSharp;
using Stella.Model.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Stella.Model.Modules;

/// <summary>A joint (fusion) block: shared weights, with a shared LayerNorm pair and one pair per modality (CAV-MAE).</summary>
public sealed class JointBlock : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1;
    private readonly LayerNorm norm1_a;
    private readonly LayerNorm norm1_v;
    private readonly LayerNorm norm2;
    private readonly LayerNorm norm2_a;
    private readonly LayerNorm norm2_v;
    private readonly Attention attn;
    private readonly Mlp mlp;

    /// <summary>Creates a joint block of width <paramref name="dim"/>.</summary>
    public JointBlock(int dim, int heads, int mlpRatio) : base(nameof(JointBlock))
    {
        norm1 = nn.LayerNorm(dim, 1e-6);
        norm1_a = nn.LayerNorm(dim, 1e-6);
        norm1_v = nn.LayerNorm(dim, 1e-6);
        norm2 = nn.LayerNorm(dim, 1e-6);
        norm2_a = nn.LayerNorm(dim, 1e-6);
        norm2_v = nn.LayerNorm(dim, 1e-6);
        attn = new Attention(dim, heads);
        mlp = new Mlp(dim, dim * mlpRatio);
        RegisterComponents();
    }

    /// <summary>The shared path.</summary>
    public override Tensor forward(Tensor x) => Forward(x, JointPath.Shared);

    /// <summary>Runs the block with the LayerNorm pair of <paramref name="path"/>.</summary>
    public Tensor Forward(Tensor x, JointPath path)
    {
        var (output, attention) = ForwardWithAttention(x, path);
        attention.Dispose();
        return output;
    }

    /// <summary>The block's output on <paramref name="path"/> and its attention sub-layer's output (before the residual add).</summary>
    public (Tensor Output, Tensor Attention) ForwardWithAttention(Tensor x, JointPath path)
    {
        var (n1, n2) = path switch
        {
            JointPath.Audio => (norm1_a, norm2_a),
            JointPath.Video => (norm1_v, norm2_v),
            _ => (norm1, norm2),
        };
        Tensor a;
        using (var normed = n1.forward(x))
        {
            a = attn.forward(normed);
        }

        using var h = x.Plus(a);
        using var n = n2.forward(h);
        using var m = mlp.forward(n);
        return (h.Plus(m), a);
    }
}
