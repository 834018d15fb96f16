using Stella.Continual.Learning;

namespace Stella.Continual.Tests;

public sealed class LearnerGcPressureTests
{
    /// <summary>
    /// The training path leaves nothing to the finalizer (no tensor outside a scope, no temporary Scalar: TorchSharp's operators make
    /// one for every number and for the hidden alpha of a + b, and its Adam.step about nine a parameter). Here a second thread collects
    /// and finalizes without pause while STELLA, DER++, LUMP, GMED, CLS-ER and ESMER (numbers mixed into tensors every step) train; the steps must finish (a
    /// use-after-free crashes the test host or fails a native check) and give bitwise the losses and weights of the same steps without
    /// that pressure.
    /// </summary>
    [Theory]
    [InlineData("stella")]
    [InlineData("der++")]
    [InlineData("lump")]
    [InlineData("gmed")]
    [InlineData("cls-er")]
    [InlineData("esmer")]
    public void Learner_UnderConstantCollection_TrainsAsWithout(string method)
    {
        // The batches are made before the collector starts (the test's own helper is not under test) and freed at the end.
        var batches = Enumerable.Range(0, 6).Select(k => TinyStream.Batch(k)).ToList();
        var calm = Train(method, batches);
        var (pressed, collections) = Stella.Tests.Shared.ConstantCollection.While(() => Train(method, batches));

        foreach (var batch in batches)
        {
            batch.Audio.Dispose();
            batch.Video.Dispose();
        }

        Assert.True(collections > 10, $"only {collections} collections ran beside the steps");
        Assert.Equal(calm.Steps, pressed.Steps);
        Assert.Equal(calm.Weights, pressed.Weights);
    }

    private static (List<LearnerStep> Steps, float[] Weights) Train(string method, IReadOnlyList<StreamBatch> batches)
    {
        using var learner = TinyStream.Learner(method, memoryItems: 4, seed: 2);
        var steps = batches.Select(b => learner.Step(b)).ToList();

        using var scope = TorchSharp.torch.NewDisposeScope(); // the detached views die here, not in the finalizer
        var weights = learner.Trainer.Backbone.parameters().SelectMany(p => p.detach().data<float>().ToArray()).ToArray();
        return (steps, weights);
    }
}
