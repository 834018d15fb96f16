using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Model.Runtime;

/// <summary>
/// Arithmetic that leaves no <see cref="Scalar"/> to the finalizer. TorchSharp's operators make a Scalar for every number they take
/// (<c>t * 0.5</c>) and for the hidden alpha of <c>a + b</c> and <c>a - b</c>; a Scalar is not held by a dispose scope, so the finalizer
/// thread can free it while the native call still reads it (issue 16's second SIGSEGV cause). These pass a process-wide Scalar or
/// one that lives until the call has returned.
/// </summary>
public static class TensorOps
{
    /// <summary><paramref name="a"/> + <paramref name="b"/>.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, Scalars.One);

    /// <summary><paramref name="a"/> - <paramref name="b"/> (TorchSharp's sub of a tensor takes no alpha, so it makes no Scalar; here for symmetry).</summary>
    public static Tensor Minus(this Tensor a, Tensor b) => a.sub(b);

    /// <summary><paramref name="a"/> * <paramref name="value"/>.</summary>
    public static Tensor Times(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.mul(s);
    }

    /// <summary><paramref name="a"/> / <paramref name="value"/>.</summary>
    public static Tensor Over(this Tensor a, double value)
    {
        using var s = value.ToScalar();
        return a.div(s);
    }

    /// <summary>The integers start, start + 1, ..., stop - 1 as an Int64 tensor (torch.arange with every Scalar held).</summary>
    public static Tensor Range(long start, long stop, Device? device = null)
    {
        using var from = start.ToScalar();
        using var to = stop.ToScalar();
        return torch.arange(from, to, Scalars.One, dtype: ScalarType.Int64, device: device);
    }

}
