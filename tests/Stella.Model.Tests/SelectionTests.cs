using Stella.Model.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Model.Tests;

public sealed class SelectionTests
{
    public SelectionTests() => TorchRuntime.Initialize();

    private static long[] Row(Tensor t, int i) => t[i].data<long>().ToArray();

    [Fact]
    public void SelectVideo_ExactlyKappaDistinctTokens()
    {
        using var g = new Generator(1);
        var importance = torch.rand([64, 40], generator: g).softmax(1);
        var probability = torch.rand([64, 40], generator: g) * 0.5;
        var selected = PatchSelector.SelectVideo(importance, probability, 20, g);
        Assert.Equal(new long[] { 64, 20 }, selected.shape);
        for (var i = 0; i < 64; i++)
        {
            var row = Row(selected, i);
            Assert.Equal(20, row.Distinct().Count());
            Assert.All(row, v => Assert.InRange(v, 0, 39));
        }
    }

    [Fact]
    public void SelectVideo_NoCorrelation_FirstDrawFollowsImportance()
    {
        // Chi-square goodness of fit of the first draw over 20,000 rows; 7 degrees of freedom, p = 0.001 at 24.3.
        using var g = new Generator(2);
        double[] p = [0.30, 0.20, 0.15, 0.12, 0.10, 0.07, 0.04, 0.02];
        const int Draws = 20_000;
        var importance = torch.tensor(p.Select(v => (float)v).ToArray()).unsqueeze(0).expand(Draws, 8).contiguous();
        var first = PatchSelector.SelectVideo(importance, torch.zeros(Draws, 8), 4, g)[.., 0].data<long>().ToArray();
        var counts = new double[8];
        foreach (var v in first)
        {
            counts[v]++;
        }

        var chi2 = Enumerable.Range(0, 8).Sum(j => Math.Pow(counts[j] - (Draws * p[j]), 2) / (Draws * p[j]));
        Assert.True(chi2 < 24.3, $"chi2 = {chi2:0.0}; counts {string.Join(", ", counts)}");
    }

    [Fact]
    public void SelectVideo_CorrelationOne_NeverSelectedWhileOthersRemain()
    {
        using var g = new Generator(3);
        var importance = torch.rand([500, 16], generator: g).softmax(1);
        var probability = torch.zeros(500, 16);
        probability[.., ..6] = torch.ones(1);   // tokens 0..5 always pruned; 10 others remain for kappa 8
        var selected = PatchSelector.SelectVideo(importance, probability, 8, g);
        Assert.Equal(0L, (selected < 6).sum().item<long>());

        var tight = PatchSelector.SelectVideo(importance, probability, 12, g);
        Assert.All(Enumerable.Range(0, 500), i => Assert.Equal(2, Row(tight, i).Count(v => v < 6)));
    }

    [Fact]
    public void FirstStep_IsDeterministicTopKappa()
    {
        using var g = new Generator(4);
        var importance = torch.rand([8, 30], generator: g);
        var expected = importance.topk(10, 1).indexes;
        Assert.True(PatchSelector.SelectVideo(importance, null, 10, g).eq(expected).all().item<bool>());
        Assert.True(PatchSelector.SelectAudio(importance, null, 10, 5, 6, 4, g).eq(expected).all().item<bool>());
    }

    [Fact]
    public void SelectAudio_NoCorrelation_WholeChunksExceptOneTrimmed()
    {
        const int T = 32, F = 8, Chunk = 4, Kappa = 100; // 8 chunks of 32 tokens; 100 = 3 whole chunks + 4 tokens
        using var g = new Generator(5);
        var importance = torch.rand([200, T * F], generator: g).softmax(1);
        var selected = PatchSelector.SelectAudio(importance, torch.zeros(200, T * F), Kappa, T, F, Chunk, g);
        for (var i = 0; i < 200; i++)
        {
            var row = Row(selected, i);
            Assert.Equal(Kappa, row.Distinct().Count());
            var perChunk = row.GroupBy(v => v / (Chunk * F)).Select(grp => grp.Count()).ToList();
            Assert.True(perChunk.Count(c => c != Chunk * F) <= 1, $"row {i}: chunk counts {string.Join(",", perChunk)}");
            Assert.Equal(4, perChunk.Single(c => c != Chunk * F));
        }
    }

    [Fact]
    public void SelectChunks_TrimsAwayFromTheTakenNeighbour()
    {
        // 3 chunks of 4 time steps x 2 freq = 8 tokens each; kappa 12 = one chunk and a half.
        var importance = Enumerable.Repeat(1f, 24).ToArray();
        var none = new bool[24];
        // Gumbel noise forces the order: chunk 0 then chunk 1 -> previous taken, next not: trim the end of chunk 1.
        var forward = PatchSelector.SelectChunks(importance, none, [3f, 2f, 1f], 0.9f, 12, 12, 2, 4);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i), forward);
        // Chunk 2 then chunk 1 -> next taken, previous not: trim the start of chunk 1.
        var backward = PatchSelector.SelectChunks(importance, none, [1f, 2f, 3f], 0.9f, 12, 12, 2, 4);
        Assert.Equal(Enumerable.Range(12, 12).Select(i => (long)i), backward);
    }

    [Fact]
    public void SelectAudio_PrunedTokensAreSkipped()
    {
        using var g = new Generator(6);
        var importance = torch.rand([50, 64], generator: g).softmax(1);
        var probability = torch.zeros(50, 64);
        probability[.., 0..8] = torch.ones(1);
        var selected = PatchSelector.SelectAudio(importance, probability, 20, 8, 8, 4, g);
        Assert.Equal(0L, (selected < 8).sum().item<long>());
    }

    [Fact]
    public void Kappa_IsIntOfRhoTimesL_AndRejectsBadRatios()
    {
        Assert.Equal(256, PatchSelector.Kappa(512, 0.5));
        Assert.Equal(3, PatchSelector.Kappa(7, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => PatchSelector.Kappa(10, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => PatchSelector.Kappa(10, 1.5));
    }
}
