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
    public void ExtraModels_OfClsErAndEsmer_CountAgainstTheMemoryBudget()
    {
        var options = new LearnerOptions { MemoryBytes = 4L * 1024 * 1024 };
        using var er = LearnerFactory.Create("er", new Model.ModelTrainer(TinyStream.Config), options);
        using var clser = LearnerFactory.Create("cls-er", new Model.ModelTrainer(TinyStream.Config), options);
        using var esmer = LearnerFactory.Create("esmer", new Model.ModelTrainer(TinyStream.Config), options);
        var model = 4L * er.Trainer.Backbone.parameters().Sum(p => p.numel());
        Assert.Equal(0, er.ExtraModelBytes);
        Assert.Equal(2 * model, clser.ExtraModelBytes);
        Assert.Equal(model, esmer.ExtraModelBytes);
        Assert.Equal((int)(options.MemoryBytes / er.ItemBytes), er.Memory!.Capacity);
        Assert.Equal((int)((options.MemoryBytes - (2 * model)) / clser.ItemBytes), clser.Memory!.Capacity);
        Assert.Equal((int)((options.MemoryBytes - model) / esmer.ItemBytes), esmer.Memory!.Capacity);
        Assert.True(clser.Memory.Capacity < esmer.Memory.Capacity && esmer.Memory.Capacity < er.Memory.Capacity);

        // A budget the extra models alone fill is refused with what they take.
        var tight = new LearnerOptions { MemoryBytes = model };
        var e = Assert.Throws<Stella.Core.UserInputException>(() => LearnerFactory.Create("cls-er", new Model.ModelTrainer(TinyStream.Config), tight));
        Assert.Contains("cls-er: its extra models take", e.Message);
        Assert.Contains("raise memory_mib", e.Message);
    }

    [Theory]
    [InlineData("cls-er")]
    [InlineData("esmer")]
    public void Averages_StartFromTheInitialWeights_LoadedAfterTheLearnerWasMade(string method)
    {
        // stream-train loads a warm-up's or init's weights into the trainer after the learner exists; the averages must follow.
        using var learner = TinyStream.Learner(method);
        using var other = new Model.ModelTrainer(TinyStream.Config, new Model.StellaOptions { Seed = 99 });
        using (torch.no_grad())
        {
            foreach (var (target, source) in learner.Trainer.Backbone.parameters().Zip(other.Backbone.parameters()))
            {
                target.copy_(source);
            }
        }

        learner.InitialWeightsLoaded();
        var averages = learner switch
        {
            ClsErLearner c => new[] { c.Plastic, c.Stable },
            EsmerLearner e => [e.Semantic],
            _ => throw new InvalidOperationException(method),
        };
        Assert.All(averages, a => Assert.All(a.Model.parameters().Zip(other.Backbone.parameters()), p => Assert.True(p.First.equal(p.Second).all().item<bool>(), a.Name)));
    }

    [Fact]
    public void Gmed_EditsTheItemsItReplays_AndOnlyByItsEdit()
    {
        // Step 0 fills the memory with batch 0 (no replay); steps 1-2 replay and edit. With stride 0 nothing may change the items.
        static IReadOnlyList<(string Clip, float[] Audio, float[] Video)> Items(double stride)
        {
            using var learner = LearnerFactory.Create("gmed", new Model.ModelTrainer(TinyStream.Config, new Model.StellaOptions { Seed = 1, LearningRate = 1e-3 }),
                new LearnerOptions { MemoryItems = 4, Seed = 1, GmedStride = stride });
            var steps = Enumerable.Range(0, 3).Select(k => learner.Step(TinyStream.Batch(k))).ToList();
            Assert.Equal([0, 4, 4], steps.Select(s => s.Replayed));
            return learner.Memory!.Items.Select(i => (i.ClipId, i.AudioPatches, i.VideoPatches)).ToList();
        }

        var original = Enumerable.Range(0, 3).SelectMany(k =>
        {
            var batch = TinyStream.Batch(k);
            using var audio = batch.Audio.contiguous();
            using var video = batch.Video.contiguous();
            var (a, v) = (audio.data<float>().ToArray(), video.data<float>().ToArray());
            var (na, nv) = (a.Length / 4, v.Length / 4);
            return Enumerable.Range(0, 4).Select(i => (Clip: batch.ClipIds[i], Audio: a[(i * na)..((i + 1) * na)], Video: v[(i * nv)..((i + 1) * nv)])).ToList();
        }).ToDictionary(r => r.Clip);
        var edited = Items(0.1);
        var untouched = Items(0);
        Assert.Equal(untouched.Select(i => i.Clip), edited.Select(i => i.Clip));
        Assert.All(untouched, i => Assert.Equal(original[i.Clip].Audio, i.Audio));
        // Items of batch 0 were replayed (edited) at least once; each edit is small (a fraction of the gradient) and finite.
        var changed = edited.Where(i => !original[i.Clip].Audio.SequenceEqual(i.Audio) || !original[i.Clip].Video.SequenceEqual(i.Video)).ToList();
        Assert.Contains(changed, i => i.Clip.StartsWith("clip-0-", StringComparison.Ordinal));
        Assert.All(changed, i =>
        {
            var largest = i.Audio.Zip(original[i.Clip].Audio).Max(p => Math.Abs(p.First - p.Second));
            Assert.True(float.IsFinite(largest) && largest > 0 && largest < 1, $"{i.Clip}: largest change {largest}");
        });
    }

    [Fact]
    public void ClsEr_KeepsTwoAveragesThatDrawApart_AtTheirOwnRates()
    {
        using var learner = (ClsErLearner)TinyStream.Learner("cls-er");
        var start = learner.Trainer.Backbone.parameters().Select(p => p.detach().clone()).ToList();
        Assert.All(learner.Plastic.Model.parameters().Zip(start), p => Assert.True(p.First.equal(p.Second).all().item<bool>()));
        for (var k = 0; k < 6; k++)
        {
            learner.Step(TinyStream.Batch(k));
        }

        static bool Same(IEnumerable<TorchSharp.Modules.Parameter> a, IEnumerable<torch.Tensor> b) => a.Zip(b).All(p => p.First.equal(p.Second).all().item<bool>());
        var working = learner.Trainer.Backbone.parameters().Select(p => p.detach()).ToList();
        Assert.False(Same(learner.Plastic.Model.parameters(), start), "the plastic model never updated");
        Assert.False(Same(learner.Plastic.Model.parameters(), working), "the plastic model is the working model");
        Assert.False(Same(learner.Plastic.Model.parameters(), learner.Stable.Model.parameters().Select(p => p.detach())), "plastic and stable are the same");
        Assert.All(learner.Plastic.Model.parameters(), p => Assert.False(p.requires_grad));
    }

    [Fact]
    public void Esmer_KeepsClipsAboveTheLossMarginOutOfTheMemory()
    {
        // Margin 1.2 (the authors' is 2.5): every clip whose loss under the semantic memory is above 1.2x the running mean is kept
        // out, so the rule bites on ordinary batches (the mean starts low: it ramps in from 0); a memory of 50 holds every clip offered.
        using var learner = (EsmerLearner)LearnerFactory.Create("esmer", new Model.ModelTrainer(TinyStream.Config, new Model.StellaOptions { Seed = 1, LearningRate = 1e-3 }),
            new LearnerOptions { MemoryItems = 50, Seed = 1, EsmerLossMargin = 1.2 });
        learner.Step(TinyStream.Batch(0));
        Assert.Equal(0, learner.LastExcluded); // no running mean yet
        Assert.True(learner.MeanLoss > 0);
        var excluded = 0;
        for (var k = 1; k < 10; k++)
        {
            var (mean, seen) = (learner.MeanLoss * 1.2, learner.Memory!.Seen);
            learner.Step(TinyStream.Batch(k));
            var high = learner.LastClipLosses.Select((loss, i) => (loss, i)).Where(p => p.loss > mean).Select(p => $"clip-{k}-{p.i}").ToList();
            Assert.Equal(high.Count, learner.LastExcluded);
            Assert.Equal(seen + 4 - high.Count, learner.Memory.Seen);
            for (var i = 0; i < 4; i++)
            {
                Assert.Equal(!high.Contains($"clip-{k}-{i}"), learner.Memory.Items.Any(item => item.ClipId == $"clip-{k}-{i}"));
            }

            excluded += high.Count;
        }

        Assert.InRange(excluded, 1, 35);
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
