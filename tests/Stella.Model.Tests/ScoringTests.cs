using Stella.Model.Modules;
using Stella.Model.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Model.Tests;

public sealed class ScoringTests
{
    public ScoringTests() => TorchRuntime.Initialize();

    [Fact]
    public void Importance_SumsToOnePerSample_ForBothModalities()
    {
        torch.manual_seed(1);
        using var avm = new Avm(32, 4);
        var output = avm.forward(torch.randn(3, 10, 32), torch.randn(3, 7, 32));
        var ia = Scoring.AudioImportance(output);
        var iv = Scoring.VideoImportance(output);
        Assert.Equal(new long[] { 3, 10 }, ia.shape);
        Assert.Equal(new long[] { 3, 7 }, iv.shape);
        Assert.True(ia.sum(1).allclose(torch.ones(3), 1e-5, 1e-5));
        Assert.True(iv.sum(1).allclose(torch.ones(3), 1e-5, 1e-5));
        Assert.True((ia >= 0).all().item<bool>());
    }

    [Fact]
    public void Scores_MatchTheFullForward()
    {
        torch.manual_seed(2);
        using var avm = new Avm(32, 4);
        var (a, v) = (torch.randn(2, 6, 32), torch.randn(2, 5, 32));
        var full = avm.forward(a, v);
        var scores = avm.Scores(a, v);
        Assert.True(full.AudioToVideo.allclose(scores.AudioToVideo, 1e-6, 1e-6));
        Assert.True(full.VideoToAudio.allclose(scores.VideoToAudio, 1e-6, 1e-6));
        Assert.True(full.KeyVideo.allclose(scores.KeyVideo, 1e-6, 1e-6));
    }

    [Fact]
    public void Importance_LowerBetaSharpens()
    {
        var scores = torch.tensor(new float[] { 1, 2, 3, 4 }).view(1, 1, 1, 4);
        var soft = Scoring.Importance(scores, 1.0);
        var sharp = Scoring.Importance(scores, 0.4);
        Assert.True(sharp[0, 3].item<float>() > soft[0, 3].item<float>());
        Assert.Equal(Math.Exp(4 / 0.4) / new[] { 1, 2, 3, 4 }.Sum(v => Math.Exp(v / 0.4)), sharp[0, 3].item<float>(), 5);
    }

    [Fact]
    public void WeightedQuery_IsImportanceWeightedMeanOverTopTokens()
    {
        // One sample, one head, 3 tokens with 2-d queries; top-2 are tokens 2 and 0 with importance 0.5 and 0.3.
        var queries = torch.tensor(new float[] { 1, 0, 0, 1, 2, 2 }).view(1, 1, 3, 2);
        var importance = torch.tensor(new float[] { 0.3f, 0.2f, 0.5f }).view(1, 3);
        var top = Scoring.TopTokens(importance, 2);
        var q = Scoring.WeightedQuery(queries, importance, top).view(2).data<float>().ToArray();
        Assert.Equal(((0.3 * 1) + (0.5 * 2)) / 0.8, q[0], 5);
        Assert.Equal(((0.3 * 0) + (0.5 * 2)) / 0.8, q[1], 5);
    }

    [Fact]
    public void Correlation_IsSigmoidOfPastMinusCurrent_OnTopTokensOnly()
    {
        // One sample, one head, d = 1: keys 1, 2, 3, 4; top tokens 3 and 1.
        var keys = torch.tensor(new float[] { 1, 2, 3, 4 }).view(1, 1, 4, 1);
        var top = torch.tensor(new long[] { 3, 1 }).view(1, 2);
        var past = torch.tensor(new float[] { 2 }).view(1, 1, 1);
        var current = torch.tensor(new float[] { 1 }).view(1, 1, 1);
        var p = Scoring.Correlation(past, current, keys, top).view(4).data<float>().ToArray();
        Assert.Equal(0f, p[0]);
        Assert.Equal(0f, p[2]);
        Assert.Equal(1 / (1 + Math.Exp(-(2 - 1) * 2.0)), p[1], 5);
        Assert.Equal(1 / (1 + Math.Exp(-(2 - 1) * 4.0)), p[3], 5);

        var same = Scoring.Correlation(current, current, keys, top).view(4).data<float>().ToArray();
        Assert.Equal(0.5f, same[1], 5);
    }

    [Fact]
    public void Score_EmptyMemory_SkipsCorrelation_ElseGivesProbabilities()
    {
        using var trainer = new ModelTrainer(Micro.Config);
        var (audio, video) = Micro.Batch(4, 1);
        var empty = trainer.Score(audio, video, null, out _);
        Assert.Null(empty.AudioCorrelation);
        Assert.Null(empty.VideoCorrelation);
        Assert.Equal(new long[] { 4, 2, 16 }, empty.QueryAudio.shape);

        var withPast = trainer.Score(audio, video, (torch.randn(4, 2, 16), torch.randn(4, 2, 16)), out _);
        var pv = withPast.VideoCorrelation!;
        Assert.True(((pv >= 0) & (pv < 1)).all().item<bool>());
        Assert.Equal((long)(4 * trainer.VideoKappa), (pv > 0).sum().item<long>());
    }
}
