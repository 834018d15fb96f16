using Stella.Model.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Pipeline.Reports;

/// <summary>
/// Linear-probe classification on frozen embeddings (the thesis' Fig. 2.5b analogue): multinomial logistic regression on the
/// concatenated L2-normalized audio and video embeddings, fitted full-batch from zero weights (the problem is convex, so the
/// result does not depend on an initialization seed), then scored on held-out clips.
/// </summary>
public static class LinearProbe
{
    /// <summary>Fits on (<paramref name="trainX"/>, <paramref name="trainY"/>) and returns the predicted class of each test row.</summary>
    /// <param name="trainX">Training features [n][d].</param>
    /// <param name="trainY">Training classes in [0, classes).</param>
    /// <param name="testX">Test features [m][d].</param>
    /// <param name="classes">Number of classes.</param>
    /// <param name="iterations">Full-batch Adam steps. Default 300.</param>
    /// <param name="weightDecay">L2 penalty on the weights. Default 1e-3.</param>
    public static int[] FitPredict(float[][] trainX, int[] trainY, float[][] testX, int classes, int iterations = 300, double weightDecay = 1e-3)
    {
        if (trainX.Length == 0 || testX.Length == 0)
        {
            return new int[testX.Length];
        }

        var d = trainX[0].Length;
        using var scope = NewDisposeScope();
        using var enabled = enable_grad();
        var x = tensor(trainX.SelectMany(r => r).ToArray(), [trainX.Length, d]);
        var y = tensor(trainY.Select(v => (long)v).ToArray(), [trainY.Length]);
        var w = new TorchSharp.Modules.Parameter(zeros(d, classes));
        var b = new TorchSharp.Modules.Parameter(zeros(classes));
        using var optimizer = optim.Adam([w, b], lr: 0.05);
        for (var i = 0; i < iterations; i++)
        {
            using var step = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(x.matmul(w).Plus(b), y).Plus(w.square().sum().Times(weightDecay));
            loss.backward();
            AdamStep.Run(optimizer);
        }

        using var noGrad = no_grad();
        var test = tensor(testX.SelectMany(r => r).ToArray(), [testX.Length, d]);
        return test.matmul(w).Plus(b).argmax(1).data<long>().Select(v => (int)v).ToArray();
    }
}
