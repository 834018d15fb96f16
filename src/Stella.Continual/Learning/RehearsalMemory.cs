using Stella.Continual.Memory;
using Stella.Continual.Randomness;

namespace Stella.Continual.Learning;

/// <summary>
/// The rehearsal memory in RAM: <see cref="Capacity"/> slots filled by reservoir sampling, replay draws without replacement.
/// Its whole state (items, seen count, both RNG states) goes into checkpoints.
/// </summary>
public sealed class RehearsalMemory
{
    private readonly MemoryItem?[] _slots;
    private readonly ReservoirSampler _reservoir;
    private readonly SplitMix64 _draws;

    /// <summary>Creates an empty memory.</summary>
    public RehearsalMemory(int capacity, ulong seed)
        : this(capacity, seed, seed ^ 0xD1CE, 0, [])
    {
    }

    private RehearsalMemory(int capacity, ulong reservoirState, ulong drawState, long seen, IEnumerable<MemoryItem> items)
    {
        _slots = new MemoryItem?[capacity];
        _reservoir = new ReservoirSampler(capacity, reservoirState, seen);
        _draws = new SplitMix64(drawState);
        foreach (var item in items)
        {
            _slots[item.Slot] = item;
        }
    }

    /// <summary>Slots.</summary>
    public int Capacity => _slots.Length;

    /// <summary>Items held.</summary>
    public int Count => _slots.Count(s => s is not null);

    /// <summary>Items offered so far.</summary>
    public long Seen => _reservoir.Seen;

    /// <summary>The held items in slot order.</summary>
    public IReadOnlyList<MemoryItem> Items => _slots.Where(s => s is not null).Select(s => s!).ToList();

    /// <summary>Offers a new item to the reservoir; the item is stored when it wins a slot.</summary>
    public bool Offer(Func<MemoryItem> create)
    {
        var slot = _reservoir.Offer();
        if (slot < 0)
        {
            return false;
        }

        var item = create();
        item.Slot = slot;
        _slots[slot] = item;
        return true;
    }

    /// <summary>Draws up to <paramref name="count"/> distinct items (partial Fisher-Yates on the held slots).</summary>
    public IReadOnlyList<MemoryItem> Sample(int count)
    {
        var held = Items.ToArray();
        var n = Math.Min(count, held.Length);
        for (var i = 0; i < n; i++)
        {
            var j = i + (int)_draws.NextInt64(held.Length - i);
            (held[i], held[j]) = (held[j], held[i]);
        }

        return held[..n];
    }

    /// <summary>A uniform double from the memory's draw generator (LUMP's mixing coefficient).</summary>
    public double NextDouble() => _draws.NextDouble();

    /// <summary>The state a checkpoint saves.</summary>
    public MemoryState State => new(Capacity, _reservoir.RandomState, _draws.State, _reservoir.Seen);

    /// <summary>Rebuilds a memory from a checkpoint.</summary>
    public static RehearsalMemory Restore(MemoryState state, IEnumerable<MemoryItem> items) =>
        new(state.Capacity, state.ReservoirRandom, state.DrawRandom, state.Seen, items);
}
