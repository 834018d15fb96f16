using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Stella.Model.Modules;

/// <summary>Two-layer GELU MLP.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    /// <summary>Creates the MLP: dim -> hidden -> dim.</summary>
    public Mlp(int dim, int hidden) : base(nameof(Mlp))
    {
        fc1 = nn.Linear(dim, hidden);
        fc2 = nn.Linear(hidden, dim);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        using var h = fc1.forward(x);
        using var g = nn.functional.gelu(h);
        return fc2.forward(g);
    }
}
