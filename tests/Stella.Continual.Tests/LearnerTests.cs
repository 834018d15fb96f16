using Stella.Continual.Learning;
using TorchSharp;

namespace Stella.Continual.Tests;

public sealed class LearnerTests
{
    public static TheoryData<string> Methods() => new(LearnerFactory.Names);

    [Theory]
    [MemberData(nameof(Methods))]
    public void EveryLearner_RunsOnATinyStream_AndChangesTheWeights(string method)
    {
        using var learner = TinyStream.Learner(method);
        var before = learner.Trainer.Backbone.parameters().Select(p => p.detach().clone()).ToList();
        var steps = Enumerable.Range(0, 4).Select(k => learner.Step(TinyStream.Batch(k))).ToList();

        var changed = learner.Trainer.Backbone.parameters().Zip(before).Count(pair => !pair.First.detach().allclose(pair.Second, 0, 0));
        Assert.True(changed > 0, $"{method}: no backbone weight changed");
        Assert.All(steps, s => Assert.True(float.IsFinite(s.MaeAudio) && float.IsFinite(s.MaeVideo) && float.IsFinite(s.Contrastive), $"{method}: {s}"));
        Assert.Equal(4, learner.Steps);
        if (learner.Memory is { } memory)
        {
            Assert.Equal(6, memory.Count);
            Assert.Equal(16, memory.Seen);
            Assert.Equal(0, steps[0].Replayed);
            Assert.True(steps[^1].Replayed > 0, $"{method}: nothing replayed");
        }
        else
        {
            Assert.Contains(method, new[] { "finetune", "multitask" });
        }
    }

    [Fact]
    public void StellaPlus_HoldsAboutTwiceTheItemsOfStella_InTheSameBudget()
    {
        var options = new LearnerOptions { MemoryBytes = 8L * 1024 * 1024 };
        using var stella = LearnerFactory.Create("stella", new Model.ModelTrainer(TinyStream.Config), options);
        using var plus = LearnerFactory.Create("stella-plus", new Model.ModelTrainer(TinyStream.Config), options);
        using var der = LearnerFactory.Create("der++", new Model.ModelTrainer(TinyStream.Config), options);
        Assert.InRange(plus.Memory!.Capacity / (double)stella.Memory!.Capacity, 1.8, 2.2);
        Assert.True(stella.Memory.Capacity * stella.ItemBytes <= options.MemoryBytes);
        Assert.True(der.Memory!.Capacity >= stella.Memory.Capacity);

        // The bytes the formula promises are the bytes an item really holds.
        stella.Step(TinyStream.Batch(0));
        stella.Step(TinyStream.Batch(1));
        Assert.All(stella.Memory.Items, item => Assert.Equal(stella.ItemBytes, item.PayloadBytes));
        plus.Step(TinyStream.Batch(0));
        Assert.All(plus.Memory!.Items, item => Assert.Equal(plus.ItemBytes, item.PayloadBytes));
    }

    [Fact]
    public void Multitask_AsksForAJointStream_OthersDoNot()
    {
        using var multitask = TinyStream.Learner("multitask");
        using var stella = TinyStream.Learner("stella");
        Assert.True(multitask.NeedsJointStream);
        Assert.False(stella.NeedsJointStream);
    }

    [Fact]
    public void UnknownMethod_ListsTheKnownOnes()
    {
        var e = Assert.Throws<Stella.Core.UserInputException>(() => LearnerFactory.Create("gem", new Model.ModelTrainer(TinyStream.Config), new LearnerOptions()));
        Assert.Contains("unknown method 'gem'", e.Message);
        Assert.Contains("stella-plus", e.Message);
    }
}
