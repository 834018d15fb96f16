using TorchSharp;
using Stella.Model.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Stella.Model.Modules;

/// <summary>Pre-LN transformer block.</summary>
public sealed class Block : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1;
    private readonly Attention attn;
    private readonly LayerNorm norm2;
    private readonly Mlp mlp;

    /// <summary>Creates a block of width <paramref name="dim"/>.</summary>
    public Block(int dim, int heads, int mlpRatio) : base(nameof(Block))
    {
        norm1 = nn.LayerNorm(dim, 1e-6);
        attn = new Attention(dim, heads);
        norm2 = nn.LayerNorm(dim, 1e-6);
        mlp = new Mlp(dim, dim * mlpRatio);
        RegisterComponents();
    }

    /// <summary>The block's output and its attention sub-layer's output (before the residual add): COINCIDE's activations.</summary>
    public (Tensor Output, Tensor Attention) ForwardWithAttention(Tensor x)
    {
        Tensor a;
        using (var n1 = norm1.forward(x))
        {
            a = attn.forward(n1);
        }

        return (Rest(x, a), a);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var n1 = norm1.forward(x);
        using var a = attn.forward(n1);
        return Rest(x, a);
    }

    // The residual add and the MLP half; nothing but the output outlives the call.
    private Tensor Rest(Tensor x, Tensor a)
    {
        using var h = x.Plus(a);
        using var n2 = norm2.forward(h);
        using var m = mlp.forward(n2);
        return h.Plus(m);
    }
}
