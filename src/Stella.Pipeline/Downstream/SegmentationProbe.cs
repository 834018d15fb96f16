using Stella.Model.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Pipeline.Downstream;

/// <summary>
/// The thesis' Table 2.5c analogue (AVSBench): a small decoder trained on frozen video-token features to predict which tokens show
/// the sounding object, scored by mIoU. The decoder is a per-token MLP (feature -> 64 -> 1, BCE), trained full batch from a seeded
/// initialization; a token is predicted inside when its probability exceeds 0.5. A clip's IoU is over all its tokens (every sampled
/// frame); a clip with nothing to find and nothing predicted scores 1. mIoU is the mean over the test clips.
/// </summary>
public static class SegmentationProbe
{
    /// <summary>
    /// Fits on the training clips' token features [clip][token][d] with their masks [clip][token], predicts the test clips' masks and
    /// returns their mIoU in percent with the predicted masks.
    /// </summary>
    public static (double MeanIoU, bool[][] Predicted) FitScore(float[][][] trainX, bool[][] trainMask, float[][][] testX, bool[][] testMask, int hidden = 64, int iterations = 300, ulong seed = 0)
    {
        if (trainX.Length == 0 || testX.Length == 0)
        {
            return (double.NaN, []);
        }

        var d = trainX[0][0].Length;
        using var scope = NewDisposeScope();
        using var enabled = enable_grad();
        using var generator = new Generator(seed);
        var x = Tokens(trainX, d);
        var y = tensor(trainMask.SelectMany(m => m).Select(v => v ? 1f : 0f).ToArray());
        // Inside tokens are the minority: weigh them up so the decoder does not settle for "nothing anywhere".
        var positives = Math.Max(1, trainMask.Sum(m => m.Count(v => v)));
        var total = trainMask.Sum(m => m.Length);
        var weight = tensor((float)((total - positives) / (double)positives));
        var w1 = new TorchSharp.Modules.Parameter(randn([d, hidden], generator: generator).Times(Math.Sqrt(2.0 / d)));
        var b1 = new TorchSharp.Modules.Parameter(zeros(hidden));
        var w2 = new TorchSharp.Modules.Parameter(randn([hidden, 1], generator: generator).Times(Math.Sqrt(1.0 / hidden)));
        var b2 = new TorchSharp.Modules.Parameter(zeros(1));
        using var optimizer = optim.Adam([w1, b1, w2, b2], lr: 0.01, weight_decay: 1e-4);
        for (var i = 0; i < iterations; i++)
        {
            using var step = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.binary_cross_entropy_with_logits(Logits(x, w1, b1, w2, b2), y, pos_weights: weight);
            loss.backward();
            AdamStep.Run(optimizer);
        }

        using var noGrad = no_grad();
        var logits = Logits(Tokens(testX, d), w1, b1, w2, b2).data<float>().ToArray();
        var predicted = new bool[testX.Length][];
        var at = 0;
        for (var c = 0; c < testX.Length; c++)
        {
            predicted[c] = logits[at..(at + testX[c].Length)].Select(v => v > 0).ToArray();
            at += testX[c].Length;
        }

        return (100 * predicted.Zip(testMask, IoU).Average(), predicted);
    }

    /// <summary>Intersection over union of two masks; 1 when both are empty.</summary>
    public static double IoU(bool[] predicted, bool[] truth)
    {
        var intersection = predicted.Zip(truth).Count(p => p.First && p.Second);
        var union = predicted.Zip(truth).Count(p => p.First || p.Second);
        return union == 0 ? 1 : intersection / (double)union;
    }

    private static Tensor Tokens(float[][][] clips, int d) =>
        tensor(clips.SelectMany(c => c.SelectMany(t => t)).ToArray(), [clips.Sum(c => c.Length), d]);

    private static Tensor Logits(Tensor x, Tensor w1, Tensor b1, Tensor w2, Tensor b2) =>
        nn.functional.relu(x.matmul(w1).Plus(b1)).matmul(w2).Plus(b2).squeeze(1);
}
