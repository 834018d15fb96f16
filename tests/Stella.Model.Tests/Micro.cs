using Stella.Model.Config;
using Stella.Model.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Model.Tests;

/// <summary>A model small enough to train in a test: 64 audio tokens (8 time x 8 freq), 16 video tokens (4 frames of 2 x 2).</summary>
internal static class Micro
{
    public static readonly ModelConfig Config = new()
    {
        Name = "micro", Dim = 32, Heads = 2, ModalityDepth = 1, JointDepth = 1, DecoderDim = 16, DecoderDepth = 1, DecoderHeads = 2,
        AvmHeads = 2, AudioFrames = 128, FrameSize = 32,
    };

    public static (Tensor Audio, Tensor Video) Batch(int b, long seed)
    {
        TorchRuntime.Initialize();
        using var g = new Generator((ulong)seed);
        // Audio and video share a per-item latent so that pairs are learnable.
        var latent = torch.randn([b, 1, 1], generator: g);
        var audio = torch.randn([b, Config.AudioTokens, Config.AudioPatchDim], generator: g) + latent;
        var video = torch.randn([b, Config.VideoTokens, Config.VideoPatchDim], generator: g) - latent;
        return (audio, video);
    }

    /// <summary>One backbone step on all patches (what finetune and DER++ train on): the production <see cref="ModelTrainer.Train"/>.</summary>
    public static TrainOutcomeLosses TrainAll(ModelTrainer trainer, Tensor audio, Tensor video)
    {
        using var scope = NewDisposeScope();
        var b = audio.shape[0];
        var r = trainer.Train(
            audio, Modules.Backbone.AllIndices(b, Config.AudioTokens, trainer.Device), video, Modules.Backbone.AllIndices(b, Config.VideoTokens, trainer.Device));
        return new TrainOutcomeLosses(r.MaeAudio, r.MaeVideo, r.Contrastive);
    }

    /// <summary>The losses of a step.</summary>
    public sealed record TrainOutcomeLosses(float MaeAudio, float MaeVideo, float Contrastive);
}
