using TorchSharp;

namespace Stella.Model.Runtime;

/// <summary>
/// TorchSharp scalars that live as long as the process. A <see cref="Scalar"/> (what an implicit conversion from a number makes, and
/// what TorchSharp's own <c>add</c>/<c>sub</c> overloads without an alpha make for it) is not held by a dispose scope and has a
/// finalizer, so a temporary one can be freed by the finalizer thread while the native call still reads it (seen under constant
/// collection: "Expected false to be true" from c10::Scalar::toFloat inside THSTensor_add_scalar_). Hot paths pass these instead,
/// and pass the alpha explicitly (<c>a.add(b, Scalars.One)</c>).
/// </summary>
public static class Scalars
{
    /// <summary>1 (the alpha of a plain add or sub).</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary>0.</summary>
    public static readonly Scalar Zero = 0.ToScalar();

    /// <summary>-infinity (float).</summary>
    public static readonly Scalar NegativeInfinity = float.NegativeInfinity.ToScalar();
}
