using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Stella.Model.Modules;

/// <summary>Multi-head self-attention with a fused qkv projection.</summary>
public sealed class Attention : nn.Module<Tensor, Tensor>
{
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly int _heads;

    /// <summary>Creates the layer for width <paramref name="dim"/> and <paramref name="heads"/> heads.</summary>
    public Attention(int dim, int heads) : base(nameof(Attention))
    {
        _heads = heads;
        qkv = nn.Linear(dim, dim * 3);
        proj = nn.Linear(dim, dim);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        // Every intermediate handle (views too: a view keeps its base's storage) is disposed as soon as it is used, so a no-gradient
        // pass holds one block's temporaries at a time; under autograd the graph keeps what backward needs and frees it as it goes.
        var (b, l, d) = (x.shape[0], x.shape[1], x.shape[2]);
        using var projected = qkv.forward(x);
        using var split = projected.view(b, l, 3, _heads, d / _heads);
        using var parts = split.permute(2, 0, 3, 1, 4);
        using var q = parts[0];
        using var k = parts[1];
        using var v = parts[2];
        using var o = nn.functional.scaled_dot_product_attention(q, k, v);
        using var swapped = o.transpose(1, 2);
        using var merged = swapped.reshape(b, l, d);
        return proj.forward(merged);
    }
}
