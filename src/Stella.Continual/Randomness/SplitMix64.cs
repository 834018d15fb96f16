namespace Stella.Continual.Randomness;

/// <summary>
/// SplitMix64 generator whose whole state is one <see cref="ulong"/>, so a checkpoint can save and restore it exactly.
/// Written by hand because <see cref="Random"/> keeps its state private (a resumed run could not continue the same sequence).
/// </summary>
public sealed class SplitMix64
{
    /// <summary>Creates a generator at <paramref name="state"/> (a seed, or a saved <see cref="State"/>).</summary>
    public SplitMix64(ulong state) => State = state;

    /// <summary>The whole state: save it to resume the same sequence.</summary>
    public ulong State { get; private set; }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64() => Mix(State += 0x9E3779B97F4A7C15);

    /// <summary>The SplitMix64 finalizer: a bijective 64-bit mix (also a good way to derive a key from parts).</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    /// <summary>A uniform integer in [0, <paramref name="bound"/>), without modulo bias (Lemire's method).</summary>
    public long NextInt64(long bound)
    {
        if (bound <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bound), bound, "bound must be positive");
        }

        var range = (ulong)bound;
        var threshold = (0 - range) % range;
        while (true)
        {
            var product = Math.BigMul(NextUInt64(), range, out var low);
            if (low >= threshold)
            {
                return (long)product;
            }
        }
    }

    /// <summary>A uniform double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}
