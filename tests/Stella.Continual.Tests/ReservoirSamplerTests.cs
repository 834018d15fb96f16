using Stella.Continual.Memory;
using Stella.Continual.Randomness;

namespace Stella.Continual.Tests;

public sealed class ReservoirSamplerTests
{
    [Fact]
    public void Offer_FillsSlotsInOrderFirst()
    {
        var sampler = new ReservoirSampler(5, seed: 1);
        Assert.Equal([0, 1, 2, 3, 4], Enumerable.Range(0, 5).Select(_ => sampler.Offer()));
        Assert.Equal(5, sampler.Seen);
    }

    [Fact]
    public void Offer_KeepsEveryItemWithEqualProbability()
    {
        // 20,000 streams of 100 items into 10 slots: each item should end in memory 2,000 times.
        // Chi-square over the 100 items, 99 degrees of freedom: p = 0.001 at 148.2.
        const int Streams = 20_000, Items = 100, Slots = 10;
        var kept = new double[Items];
        for (var s = 0; s < Streams; s++)
        {
            var sampler = new ReservoirSampler(Slots, seed: (ulong)s * 7919);
            var memory = new int[Slots];
            for (var item = 0; item < Items; item++)
            {
                var slot = sampler.Offer();
                if (slot >= 0)
                {
                    memory[slot] = item;
                }
            }

            foreach (var item in memory)
            {
                kept[item]++;
            }
        }

        var expected = Streams * (double)Slots / Items;
        var chi2 = kept.Sum(k => (k - expected) * (k - expected) / expected);
        Assert.True(chi2 < 148.2, $"chi2 = {chi2:0.0}; min {kept.Min()}, max {kept.Max()}");
        Assert.InRange(kept.Take(10).Average(), expected * 0.95, expected * 1.05);
    }

    [Fact]
    public void Sampler_RestoredFromItsState_ContinuesTheSameSequence()
    {
        var a = new ReservoirSampler(8, seed: 42);
        for (var i = 0; i < 50; i++)
        {
            a.Offer();
        }

        var b = new ReservoirSampler(8, a.RandomState, a.Seen);
        Assert.Equal(Enumerable.Range(0, 200).Select(_ => a.Offer()), Enumerable.Range(0, 200).Select(_ => b.Offer()));
    }

    [Fact]
    public void SplitMix64_NextInt64_StaysInBound()
    {
        var rng = new SplitMix64(3);
        Assert.All(Enumerable.Range(0, 10_000).Select(_ => rng.NextInt64(7)), v => Assert.InRange(v, 0, 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.NextInt64(0));
    }

    [Fact]
    public void CapacityFor_FitsTheByteBudget()
    {
        var stella = new MemoryItem { AudioPatches = new float[256 * 256], VideoPatches = new float[256 * 768], QueryAudio = new float[128], QueryVideo = new float[128] };
        var plus = new MemoryItem { AudioPatches = new float[128 * 256], VideoPatches = new float[128 * 768], AudioIndices = new int[128], VideoIndices = new int[128], QueryAudio = new float[128], QueryVideo = new float[128] };
        const long Budget = 100L * 1024 * 1024;
        var n = MemoryItem.CapacityFor(Budget, stella.PayloadBytes);
        var m = MemoryItem.CapacityFor(Budget, plus.PayloadBytes);
        Assert.True(n * stella.PayloadBytes <= Budget && (n + 1) * stella.PayloadBytes > Budget);
        Assert.True(m * plus.PayloadBytes <= Budget);
        Assert.InRange(m / (double)n, 1.9, 2.1);
    }
}
