using Stella.Model.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Model.Tests;

/// <summary>The AVM's matched/mismatched pairs and their labels, on batches of one and two clips.</summary>
public sealed class AvmPairingTests
{
    public AvmPairingTests() => TorchRuntime.Initialize();

    private static float Bce(Tensor logits, float[] labels)
    {
        using var target = tensor(labels);
        using var loss = nn.functional.binary_cross_entropy_with_logits(logits, target);
        return loss.item<float>();
    }

    [Fact]
    public void AvmLoss_BatchOfOne_IsItsOwnMatchedPair()
    {
        using var scope = NewDisposeScope();
        using var trainer = new ModelTrainer(Micro.Config, new StellaOptions { Seed = 21 });
        var (audio, video) = Micro.Batch(1, 21);
        trainer.Score(audio, video, null, out var encoding);
        using var noGrad = no_grad();
        var expected = Bce(trainer.Avm.forward(encoding.JointAudio, encoding.JointVideo).Logit, [1f]);

        Assert.Equal(expected, trainer.AvmLoss(encoding).item<float>());
    }

    [Fact]
    public void AvmLoss_BatchOfTwo_FirstMatchedSecondPairedWithTheFirstVideo()
    {
        using var scope = NewDisposeScope();
        using var trainer = new ModelTrainer(Micro.Config, new StellaOptions { Seed = 22 });
        var (audio, video) = Micro.Batch(2, 22);
        trainer.Score(audio, video, null, out var encoding);
        using var noGrad = no_grad();
        // The only derangement of one mismatched item among two: audio 1 with video 0.
        var (na, nv) = trainer.Backbone.JointShared(encoding.ModalityAudio[1..], encoding.ModalityVideo[..1]);
        var logits = trainer.Avm.forward(cat([encoding.JointAudio[..1], na]), cat([encoding.JointVideo[..1], nv])).Logit;

        Assert.Equal(Bce(logits, [1f, 0f]), trainer.AvmLoss(encoding).item<float>());
    }
}
