using Stella.Continual.Randomness;

namespace Stella.Continual.Memory;

/// <summary>
/// Reservoir sampling, Algorithm R (Vitter 1985), as the reference's memory: the first <see cref="Capacity"/> items fill the
/// slots; item number n (0-based) after that replaces slot j = uniform[0, n] when j &lt; capacity. Every item seen so far is then
/// in the memory with the same probability capacity / seen. The state (seen count, RNG) is checkpointable.
/// </summary>
public sealed class ReservoirSampler
{
    private readonly SplitMix64 _random;

    /// <summary>Creates a sampler of <paramref name="capacity"/> slots.</summary>
    public ReservoirSampler(int capacity, ulong seed, long seen = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        Capacity = capacity;
        Seen = seen;
        _random = new SplitMix64(seed);
    }

    /// <summary>Number of slots.</summary>
    public int Capacity { get; }

    /// <summary>Items offered so far.</summary>
    public long Seen { get; private set; }

    /// <summary>The RNG state, for checkpoints.</summary>
    public ulong RandomState => _random.State;

    /// <summary>Offers the next item: returns the slot to store it in, or -1 when it is not kept.</summary>
    public int Offer()
    {
        var n = Seen++;
        if (n < Capacity)
        {
            return (int)n;
        }

        var j = _random.NextInt64(n + 1);
        return j < Capacity ? (int)j : -1;
    }
}
