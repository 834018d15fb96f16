using Stella.Core.Metrics;

namespace Stella.Core.Tests;

public sealed class MetricsTests
{
    [Fact]
    public void Ranks_CountStrictlyBetterAndTiedItemsAgainstTheQuery()
    {
        float[][] audio = [[1, 0], [0, 1], [1, 1]];
        float[][] video = [[1, 0], [1, 0.1f], [1, 0]]; // item 2's true pair ties with item 0's video
        var ranks = Retrieval.Ranks(audio, video, [0, 1, 2]);
        // query 0 (1,0): true (1,0) cos 1; (1,0.1) cos .995; (1,0) tie -> rank 2.
        // query 1 (0,1): true cos .0995; others 0 -> rank 1.
        // query 2 (1,1)/sqrt2: true (1,0) .707; video 1 (1,.1) .774 > .707; video 0 tie -> rank 3.
        Assert.Equal([2, 1, 3], ranks);
        Assert.Equal(100.0 / 3, Retrieval.RecallAt(ranks, 1), 6);
        Assert.Equal(200.0 / 3, Retrieval.RecallAt(ranks, 2), 6);
        Assert.Equal(100.0, Retrieval.RecallAt(ranks, 5), 6);
    }

    [Fact]
    public void Ranks_ConstantEmbeddings_AreWorstNotBest()
    {
        var same = Enumerable.Range(0, 10).Select(_ => new float[] { 1, 2 }).ToArray();
        Assert.All(Retrieval.Ranks(same, same, Enumerable.Range(0, 10).ToList()), r => Assert.Equal(10, r));
    }

    [Fact]
    public void AverageAndForgetting_OnAKnownMatrix()
    {
        double[][] acc =
        [
            [50, 0, 0],
            [40, 60, 0],
            [30, 55, 70],
        ];
        Assert.Equal((30 + 55 + 70) / 3.0, ContinualScores.Average(acc), 9);
        // task 0: max(50 - 30, 40 - 30) = 20; task 1: max(60 - 55) = 5 (t = 0 is before task 1 was learned and does not count).
        Assert.Equal((20 + 5) / 2.0, ContinualScores.Forgetting(acc), 9);
        Assert.Equal(0, ContinualScores.Forgetting([[42]]));
        Assert.Throws<ArgumentException>(() => ContinualScores.Average([[1, 2]]));
    }

    [Fact]
    public void Forgetting_CanBeNegative_WhenLaterTasksHelp()
    {
        double[][] acc = [[10, 0], [20, 30]];
        Assert.Equal(-10, ContinualScores.Forgetting(acc), 9);
    }

    [Fact]
    public void ModalityGap_IsTheDistanceOfTheNormalizedMeans()
    {
        float[][] audio = [[2, 0], [0, 3]];
        float[][] video = [[0, 5], [4, 0]];
        Assert.Equal(0, ModalityGap.Compute(audio, video), 9);
        Assert.Equal(Math.Sqrt(2), ModalityGap.Compute([[1, 0]], [[0, 7]]), 9);
    }

    [Fact]
    public void Localization_TopPatchInSoundingFrames_IsTestedAgainstThatFramesBox()
    {
        // 2 frames of a 2 x 2 grid over 32 px frames (16 px patches). The global maximum (token 0) is in a silent frame.
        float[] attention = [9, 0, 0, 0, 0.1f, 0.2f, 0.3f, 0.8f];
        int[][] boxes = [[0, 0, 16, 16], [16, 16, 32, 32]];
        Assert.True(Localization.Hit(attention, 2, 32, boxes, [false, true]));
        Assert.False(Localization.Hit(attention, 2, 32, [[0, 0, 16, 16], [0, 0, 16, 16]], [false, true]));
        Assert.Null(Localization.Hit(attention, 2, 32, boxes, [false, false]));
        Assert.True(Localization.Hit(attention, 2, 32, boxes, [true, true]));
    }
}
