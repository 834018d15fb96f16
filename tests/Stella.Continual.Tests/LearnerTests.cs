using Stella.Continual.Learning;
using TorchSharp;

namespace Stella.Continual.Tests;

public sealed class LearnerTests
{
    // Every continual learner; avm-only (the warm-up's AVM phase) trains no backbone weight by design: tested on its own below.
    public static TheoryData<string> Methods() => new(LearnerFactory.Names.Where(n => n != "avm-only"));

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
    public void AvmOnly_TrainsTheAvm_AndLeavesTheBackboneAsItWas()
    {
        using var learner = TinyStream.Learner("avm-only");
        var backbone = learner.Trainer.Backbone.parameters().Select(p => p.detach().clone()).ToList();
        var avm = learner.Trainer.Avm.parameters().Select(p => p.detach().clone()).ToList();
        var steps = Enumerable.Range(0, 3).Select(k => learner.Step(TinyStream.Batch(k))).ToList();

        Assert.All(learner.Trainer.Backbone.parameters().Zip(backbone), pair => Assert.True(pair.First.detach().allclose(pair.Second, 0, 0)));
        Assert.Contains(learner.Trainer.Avm.parameters().Zip(avm), pair => !pair.First.detach().allclose(pair.Second, 0, 0));
        Assert.All(steps, s => Assert.True(float.IsNaN(s.MaeAudio) && float.IsFinite(s.Avm) && s.AvmAccuracy is >= 0 and <= 1, s.ToString()));
        Assert.True(learner.NeedsJointStream);
        Assert.Null(learner.Memory);
    }

    [Fact]
    public void SelectionStats_SayHowMuchImportanceTheSelectionKept_AndWhatThePruningRemoved()
    {
        // Twins: same seed, same weights, same batches; they differ only in the rule.
        using var lpis = TinyStream.Learner("lpis-only");
        using var random = TinyStream.Learner("random");
        using var stella = TinyStream.Learner("stella");
        var first = (Lpis: lpis.Step(TinyStream.Batch(0)), Random: random.Step(TinyStream.Batch(0)), Stella: stella.Step(TinyStream.Batch(0)));

        // First step: LPIS and STELLA take the top kappa by importance (the most any kappa tokens can hold); random ignores it.
        var (l, r, s) = (first.Lpis.Selection!, first.Random.Selection!, first.Stella.Selection!);
        Assert.Equal(l.ImportanceKeptVideo, s.ImportanceKeptVideo);
        Assert.True(l.ImportanceKeptVideo > r.ImportanceKeptVideo, $"{l} vs {r}");
        Assert.True(l.ImportanceKeptAudio >= r.ImportanceKeptAudio, $"{l} vs {r}");
        Assert.InRange(r.ImportanceKeptVideo, 0.2f, 0.8f);
        Assert.True(float.IsNaN(s.PrunedTopVideo) && float.IsNaN(s.PrunedTopAudio), "no correlation before the memory holds items");
        Assert.InRange(first.Stella.AvmAccuracy, 0f, 1f);

        // With a memory, STELLA's RCA prunes a share of the top tokens (each with probability sigmoid(s_past - s_cur)).
        var later = stella.Step(TinyStream.Batch(1)).Selection!;
        Assert.InRange(later.PrunedTopVideo, 0.01f, 0.99f);
        Assert.InRange(later.PrunedTopAudio, 0.01f, 0.99f);
        Assert.Null(TinyStream.Learner("der++").Step(TinyStream.Batch(0)).Selection);
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
