using Stella.Model.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Pipeline.Downstream;

/// <summary>
/// The thesis' Table 2.5b downstream classifier: an MLP (one hidden ReLU layer) trained on frozen features of every task's classes,
/// then scored on held-out clips. Full-batch Adam from a seeded initialization, so a result is reproducible; the features are
/// L2-normalized by the caller (as for the linear probe).
/// </summary>
public static class MlpClassifier
{
    /// <summary>Fits on (<paramref name="trainX"/>, <paramref name="trainY"/>) and returns the predicted class of each test row.</summary>
    public static int[] FitPredict(float[][] trainX, int[] trainY, float[][] testX, int classes, int hidden = 128, int iterations = 400, ulong seed = 0)
    {
        if (trainX.Length == 0 || testX.Length == 0)
        {
            return new int[testX.Length];
        }

        var d = trainX[0].Length;
        using var scope = NewDisposeScope();
        using var enabled = enable_grad();
        using var generator = new Generator(seed);
        var x = tensor(trainX.SelectMany(r => r).ToArray(), [trainX.Length, d]);
        var y = tensor(trainY.Select(v => (long)v).ToArray(), [trainY.Length]);
        // He-style initialization from the seeded generator; biases start at zero.
        var w1 = new TorchSharp.Modules.Parameter(randn([d, hidden], generator: generator).Times(Math.Sqrt(2.0 / d)));
        var b1 = new TorchSharp.Modules.Parameter(zeros(hidden));
        var w2 = new TorchSharp.Modules.Parameter(randn([hidden, classes], generator: generator).Times(Math.Sqrt(1.0 / hidden)));
        var b2 = new TorchSharp.Modules.Parameter(zeros(classes));
        using var optimizer = optim.Adam([w1, b1, w2, b2], lr: 0.01, weight_decay: 1e-4);
        for (var i = 0; i < iterations; i++)
        {
            using var step = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(Forward(x, w1, b1, w2, b2), y);
            loss.backward();
            AdamStep.Run(optimizer);
        }

        using var noGrad = no_grad();
        var test = tensor(testX.SelectMany(r => r).ToArray(), [testX.Length, d]);
        return Forward(test, w1, b1, w2, b2).argmax(1).data<long>().Select(v => (int)v).ToArray();
    }

    private static Tensor Forward(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2) =>
        nn.functional.relu(x.matmul(w1).Plus(b1)).matmul(w2).Plus(b2);
}
