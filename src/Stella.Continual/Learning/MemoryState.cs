using Stella.Continual.Memory;
using Stella.Continual.Randomness;

namespace Stella.Continual.Learning;

/// <summary>The scalar state of a <see cref="RehearsalMemory"/>.</summary>
/// <param name="Capacity">Slots.</param>
/// <param name="ReservoirRandom">Reservoir RNG state.</param>
/// <param name="DrawRandom">Replay-draw RNG state.</param>
/// <param name="Seen">Items offered so far.</param>
public sealed record MemoryState(int Capacity, ulong ReservoirRandom, ulong DrawRandom, long Seen);
