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
    public void InputGradients_ReachEveryPatch_TheMaskedOnesThroughTheTarget_AndLeaveNoWeightGradient()
    {
        // 80% of the tokens are masked: they reach the loss only as reconstruction targets. GMED's edit needs their gradient too
        // (the authors' target is the input itself), so none may come back zero.
        using var trainer = new ModelTrainer(Micro.Config, new StellaOptions { Seed = 3 });
        var (audio, video) = Micro.Batch(4, 9);
        using var ia = Backbone.AllIndices(4, Micro.Config.AudioTokens, CPU);
        using var iv = Backbone.AllIndices(4, Micro.Config.VideoTokens, CPU);
        trainer.Backbone.zero_grad();
        var (ga, gv) = trainer.InputGradients(audio, ia, video, iv);
        using (ga)
        using (gv)
        using (var tokenA = ga.abs().sum(-1))
        using (var tokenV = gv.abs().sum(-1))
        {
            Assert.Equal(audio.shape, ga.shape);
            Assert.Equal(0, tokenA.eq(0).sum().item<long>());
            Assert.Equal(0, tokenV.eq(0).sum().item<long>());
        }

        Assert.All(trainer.Backbone.parameters(), p => Assert.True(p.grad is null || p.grad.abs().sum().item<float>() == 0f));
        audio.Dispose();
        video.Dispose();
    }

    [Fact]
    public void TrainOnAllPatches_OnAFixedBatch_InfoNceLeavesChanceLevel()
    {
        // Guards against the collapse seen with the default patch-embedding init: pooled embeddings of all clips nearly equal
        // and InfoNCE stuck at ln(B) while the MAE loss still fell.
        using var trainer = new ModelTrainer(Micro.Config, new StellaOptions { LearningRate = 2e-3, ContrastiveWeight = 1.0, Seed = 5 });
        var (audio, video) = Micro.Batch(8, 11);
        var steps = Enumerable.Range(0, 60).Select(_ => Micro.TrainAll(trainer, audio, video)).ToList(); // ToList: every step must run
        var last = steps.TakeLast(5).Average(r => r.Contrastive);
        Assert.True(last < 0.6 * Math.Log(8), $"InfoNCE {last:0.000} did not leave chance level ln 8 = {Math.Log(8):0.000}");
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
    public void TrainOnAllPatches_LowersTheLoss_AndChangesWeights()
    {
        using var trainer = new ModelTrainer(Micro.Config, new StellaOptions { LearningRate = 2e-3 });
        var (audio, video) = Micro.Batch(8, 7);
        var before = trainer.Backbone.parameters().First().detach().clone();
        var first = Enumerable.Range(0, 3).Select(_ => Micro.TrainAll(trainer, audio, video)).Average(r => r.MaeAudio + r.MaeVideo);
        for (var i = 0; i < 30; i++)
        {
            Micro.TrainAll(trainer, audio, video);
        }

        var last = Enumerable.Range(0, 3).Select(_ => Micro.TrainAll(trainer, audio, video)).Average(r => r.MaeAudio + r.MaeVideo);
        Assert.True(last < first, $"{first} -> {last}");
        Assert.True((trainer.Backbone.parameters().First() - before).abs().sum().item<float>() > 0);
    }
}
