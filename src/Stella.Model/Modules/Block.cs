using TorchSharp;
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

    /// <inheritdoc />
    /// <summary>The block's output and its attention sub-layer's output (before the residual add): COINCIDE's activations.</summary>
    public (Tensor Output, Tensor Attention) ForwardWithAttention(Tensor x)
    {
        var a = attn.forward(norm1.forward(x));
        var h = x + a;
        using var m = mlp.forward(norm2.forward(h));
        return (h + m, a);
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var a = attn.forward(norm1.forward(x));
        var h = x + a;
        using var m = mlp.forward(norm2.forward(h));
        return h + m;
    }
}
