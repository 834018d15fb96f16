using Stella.Model.Modules;
using Stella.Model.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Model.Tests;

public sealed class TrainerTests
{
    public TrainerTests() => TorchRuntime.Initialize();

    [Fact]
    public void AvmLoss_LeavesEveryBackboneGradientZero()
    {
        using var trainer = new ModelTrainer(Micro.Config);
        var (audio, video) = Micro.Batch(4, 2);
        trainer.Score(audio, video, null, out var encoding);
        trainer.Backbone.zero_grad();
        trainer.Avm.zero_grad();
        trainer.AvmLoss(encoding).backward();

        Assert.All(trainer.Backbone.parameters(), p => Assert.True(p.grad is null || p.grad.abs().sum().item<float>() == 0f));
        Assert.Contains(trainer.Avm.parameters(), p => p.grad is not null && p.grad.abs().sum().item<float>() > 0f);
    }

    [Fact]
    public void StepStella_OnAFixedBatch_LowersEachLoss()
    {
        using var trainer = new ModelTrainer(Micro.Config, new StellaOptions { LearningRate = 2e-3, Seed = 3 });
        var (audio, video) = Micro.Batch(8, 3);
        var results = new List<StepResult>();
        (Tensor, Tensor)? past = null;
        for (var step = 0; step < 40; step++)
        {
            var r = trainer.StepStella(audio, video, past);
            results.Add(r);
            past = (r.Scores!.QueryAudio.roll(1, 0), r.Scores.QueryVideo.roll(1, 0));
        }

        static double Mean(IEnumerable<StepResult> rs, Func<StepResult, float> f) => rs.Average(r => (double)f(r));
        foreach (var (name, f) in new (string, Func<StepResult, float>)[] { ("mae_a", r => r.MaeAudio), ("mae_v", r => r.MaeVideo), ("nce", r => r.Contrastive), ("avm", r => r.Avm) })
        {
            var first = Mean(results.Take(5), f);
            var last = Mean(results.TakeLast(5), f);
            Assert.True(last < first, $"{name}: {first:0.0000} -> {last:0.0000}");
        }
    }

    [Fact]
    public void StepFull_OnAFixedBatch_InfoNceLeavesChanceLevel()
    {
        // Guards against the collapse seen with the default patch-embedding init: pooled embeddings of all clips nearly equal
        // and InfoNCE stuck at ln(B) while the MAE loss still fell.
        using var trainer = new ModelTrainer(Micro.Config, new StellaOptions { LearningRate = 2e-3, ContrastiveWeight = 1.0, Seed = 5 });
        var (audio, video) = Micro.Batch(8, 11);
        var steps = Enumerable.Range(0, 60).Select(_ => trainer.StepFull(audio, video)).ToList(); // ToList: every step must run
        var last = steps.TakeLast(5).Average(r => r.Contrastive);
        Assert.True(last < 0.6 * Math.Log(8), $"InfoNCE {last:0.000} did not leave chance level ln 8 = {Math.Log(8):0.000}");
    }

    [Fact]
    public void StepStella_SameSeed_SameSelectionsAndLosses()
    {
        var runs = new List<List<(float, float, float, float, long[], long[])>>();
        for (var run = 0; run < 2; run++)
        {
            using var trainer = new ModelTrainer(Micro.Config, new StellaOptions { Seed = 9 });
            var (audio, video) = Micro.Batch(4, 4);
            var steps = new List<(float, float, float, float, long[], long[])>();
            (Tensor, Tensor)? past = null;
            for (var step = 0; step < 3; step++)
            {
                var r = trainer.StepStella(audio, video, past);
                steps.Add((r.MaeAudio, r.MaeVideo, r.Contrastive, r.Avm, r.AudioSelected!.data<long>().ToArray(), r.VideoSelected!.data<long>().ToArray()));
                past = (r.Scores!.QueryAudio, r.Scores.QueryVideo);
            }

            runs.Add(steps);
        }

        for (var s = 0; s < 3; s++)
        {
            Assert.Equal(runs[0][s].Item1, runs[1][s].Item1);
            Assert.Equal(runs[0][s].Item2, runs[1][s].Item2);
            Assert.Equal(runs[0][s].Item3, runs[1][s].Item3);
            Assert.Equal(runs[0][s].Item4, runs[1][s].Item4);
            Assert.Equal(runs[0][s].Item5, runs[1][s].Item5);
            Assert.Equal(runs[0][s].Item6, runs[1][s].Item6);
        }

        using var other = new ModelTrainer(Micro.Config, new StellaOptions { Seed = 10 });
        var (a2, v2) = Micro.Batch(4, 4);
        Assert.NotEqual(runs[0][0].Item1, other.StepStella(a2, v2).MaeAudio);
    }

    [Fact]
    public void StepStella_SelectsKappaTokens_FirstStepIsTopKappa()
    {
        using var trainer = new ModelTrainer(Micro.Config);
        var (audio, video) = Micro.Batch(4, 5);
        var scores = trainer.Score(audio, video, null, out _);
        var r = trainer.StepStella(audio, video);
        Assert.Equal(new long[] { 4, 32 }, r.AudioSelected!.shape);
        Assert.Equal(new long[] { 4, 8 }, r.VideoSelected!.shape);
        Assert.True(r.VideoSelected.eq(scores.VideoImportance.topk(8, 1).indexes).all().item<bool>());
    }

    [Fact]
    public void Embeddings_OfASelection_CarryTheOriginalPositions()
    {
        torch.manual_seed(4);
        using var backbone = new Backbone(Micro.Config);
        var (audio, video) = Micro.Batch(2, 6);
        var selected = torch.tensor(new long[] { 5, 0, 63, 17, 40, 2, 9, 33 }).view(2, 4);
        using var noGrad = torch.no_grad();
        var all = backbone.EmbedAudio(audio, Backbone.AllIndices(2, 64, CPU));
        var subset = backbone.EmbedAudio(Backbone.GatherTokens(audio, selected), selected);
        Assert.True(subset.allclose(Backbone.GatherTokens(all, selected), 1e-6, 1e-6));

        // With the positions of other tokens the embeddings differ: the position embedding is not ignored.
        var shifted = backbone.EmbedAudio(Backbone.GatherTokens(audio, selected), (selected + 1).remainder(64));
        Assert.False(subset.allclose(shifted, 1e-4, 1e-4));
    }

    [Fact]
    public void StepFull_LowersTheLoss_AndChangesWeights()
    {
        using var trainer = new ModelTrainer(Micro.Config, new StellaOptions { LearningRate = 2e-3 });
        var (audio, video) = Micro.Batch(8, 7);
        var before = trainer.Backbone.parameters().First().detach().clone();
        var first = Enumerable.Range(0, 3).Select(_ => trainer.StepFull(audio, video)).Average(r => r.MaeAudio + r.MaeVideo);
        for (var i = 0; i < 30; i++)
        {
            trainer.StepFull(audio, video);
        }

        var last = Enumerable.Range(0, 3).Select(_ => trainer.StepFull(audio, video)).Average(r => r.MaeAudio + r.MaeVideo);
        Assert.True(last < first, $"{first} -> {last}");
        Assert.True((trainer.Backbone.parameters().First() - before).abs().sum().item<float>() > 0);
    }
}
