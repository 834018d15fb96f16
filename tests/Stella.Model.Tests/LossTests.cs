using Stella.Model.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Model.Tests;

public sealed class LossTests
{
    public LossTests() => TorchRuntime.Initialize();

    [Fact]
    public void InfoNce_MatchesHandComputedValue()
    {
        // Two pairs in 2-d: a = (1,0), (0,1); v = (1,0), (1,1)/sqrt2. tau = 0.5.
        var a = torch.tensor(new float[] { 2, 0, 0, 3 }).view(2, 2);
        var v = torch.tensor(new float[] { 5, 0, 1, 1 }).view(2, 2);
        var s = new[,] { { 1.0, Math.Sqrt(0.5) }, { 0.0, Math.Sqrt(0.5) } };
        double Ce(double[] row, int target) => -(row[target] / 0.5) + Math.Log(row.Sum(x => Math.Exp(x / 0.5)));
        var a2v = (Ce([s[0, 0], s[0, 1]], 0) + Ce([s[1, 0], s[1, 1]], 1)) / 2;
        var v2a = (Ce([s[0, 0], s[1, 0]], 0) + Ce([s[0, 1], s[1, 1]], 1)) / 2;
        Assert.Equal((a2v + v2a) / 2, Losses.InfoNce(a, v, 0.5).item<float>(), 5);
    }

    [Fact]
    public void DerPenalty_IsZeroForUnchangedEmbeddings_AndMseOtherwise()
    {
        var a = torch.randn(4, 8);
        var v = torch.randn(4, 8);
        Assert.Equal(0f, Losses.DerPenalty(a, v, a, v).item<float>());
        Assert.Equal(1f + 4f, Losses.DerPenalty(a, v, a + 1, v - 2).item<float>(), 5);
        Assert.Equal(0.5, Losses.PenaltyWeight);
        Assert.Equal(0.1, Losses.ContrastiveWeight);
    }
}
