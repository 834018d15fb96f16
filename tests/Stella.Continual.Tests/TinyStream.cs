using Stella.Continual.Learning;
using Stella.Model;
using Stella.Model.Config;
using TorchSharp;

namespace Stella.Continual.Tests;

/// <summary>A micro model and a deterministic stream of random clips: batch k is the same in every run.</summary>
internal static class TinyStream
{
    // The TorchSharp native fix before any torch call: a test class that makes batches before any model (the GC-pressure test)
    // would otherwise load libtorch unpatched when it happens to run first (it failed so once in `make test`).
    static TinyStream() => Stella.Model.Runtime.TorchRuntime.Initialize();

    public static readonly ModelConfig Config = new()
    {
        Name = "micro", Dim = 32, Heads = 2, ModalityDepth = 1, JointDepth = 1, DecoderDim = 16, DecoderDepth = 1, DecoderHeads = 2,
        AvmHeads = 2, AudioFrames = 128, FrameSize = 32,
    };

    public static StreamBatch Batch(int k, int size = 4)
    {
        using var g = new torch.Generator((ulong)(1000 + k));
        var latent = torch.randn([size, 1, 1], generator: g);
        return new StreamBatch(
            torch.randn([size, Config.AudioTokens, Config.AudioPatchDim], generator: g) + latent,
            torch.randn([size, Config.VideoTokens, Config.VideoPatchDim], generator: g) - latent,
            Enumerable.Range(0, size).Select(i => $"clip-{k}-{i}").ToList(),
            Enumerable.Repeat(k / 3, size).ToList());
    }

    public static Learner Learner(string method, int memoryItems = 6, ulong seed = 1) =>
        LearnerFactory.Create(method, new ModelTrainer(Config, new StellaOptions { Seed = seed, LearningRate = 1e-3 }), new LearnerOptions { MemoryItems = memoryItems, Seed = seed });
}
