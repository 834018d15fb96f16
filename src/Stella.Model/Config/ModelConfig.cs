namespace Stella.Model.Config;

/// <summary>
/// Sizes of the CAV-MAE style backbone, its MAE decoder and the AVM module, with the two presets:
/// <c>tiny</c> (the CPU default: trains in minutes on 2 cores) and <c>base</c> (the thesis: ViT-B, 768-d, 12 heads,
/// 10 modality + 2 joint blocks, 8-block 512-d decoder, 1024 x 128 spectrograms, 4 frames of 224 x 224).
/// </summary>
public sealed record ModelConfig
{
    /// <summary>Preset name.</summary>
    public string Name { get; init; } = "tiny";

    /// <summary>Token width D. Tiny 128, base 768.</summary>
    public int Dim { get; init; } = 128;

    /// <summary>Attention heads. Tiny 4, base 12.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>Modality-specific blocks per modality. Tiny 2, base 10.</summary>
    public int ModalityDepth { get; init; } = 2;

    /// <summary>Joint (fusion) blocks. Tiny 1, base 2.</summary>
    public int JointDepth { get; init; } = 1;

    /// <summary>MLP width as a multiple of D. Default 4.</summary>
    public int MlpRatio { get; init; } = 4;

    /// <summary>Decoder width. Tiny 64, base 512.</summary>
    public int DecoderDim { get; init; } = 64;

    /// <summary>Decoder blocks. Tiny 1, base 8.</summary>
    public int DecoderDepth { get; init; } = 1;

    /// <summary>Decoder heads. Tiny 4, base 16.</summary>
    public int DecoderHeads { get; init; } = 4;

    /// <summary>AVM heads. Tiny 4, base 12.</summary>
    public int AvmHeads { get; init; } = 4;

    /// <summary>Spectrogram frames (time) after pad/cut. Tiny 512 (5.12 s), base 1024.</summary>
    public int AudioFrames { get; init; } = 512;

    /// <summary>Mel bins. Default 128.</summary>
    public int MelBins { get; init; } = 128;

    /// <summary>Video frames per clip. Default 4.</summary>
    public int Frames { get; init; } = 4;

    /// <summary>Frame side in pixels. Tiny 128, base 224.</summary>
    public int FrameSize { get; init; } = 128;

    /// <summary>
    /// Factor on the default initialisation of the patch-embedding weights. Default 10. Measured on the tiny preset and real
    /// benchmark clips: with the default init the clips' content is too weak against the shared position/bias terms, the pooled
    /// embeddings of different clips have cosine 0.998 and InfoNCE cannot leave ln(B) even on 16 memorised pairs; with 10x it falls to
    /// 1.52 in 60 steps and the MAE loss is lower too (3x was not enough).
    /// </summary>
    public double PatchEmbedGain { get; init; } = 10;

    /// <summary>Patch side. Default 16.</summary>
    public int Patch { get; init; } = 16;

    /// <summary>Audio tokens along time (AudioFrames / Patch).</summary>
    public int AudioTimeTokens => AudioFrames / Patch;

    /// <summary>Audio tokens along frequency (MelBins / Patch).</summary>
    public int AudioFreqTokens => MelBins / Patch;

    /// <summary>Audio tokens M.</summary>
    public int AudioTokens => AudioTimeTokens * AudioFreqTokens;

    /// <summary>Video tokens per frame.</summary>
    public int TokensPerFrame => (FrameSize / Patch) * (FrameSize / Patch);

    /// <summary>Video tokens N.</summary>
    public int VideoTokens => Frames * TokensPerFrame;

    /// <summary>Values in an audio patch (P * P).</summary>
    public int AudioPatchDim => Patch * Patch;

    /// <summary>Values in a video patch (3 * P * P).</summary>
    public int VideoPatchDim => 3 * Patch * Patch;

    /// <summary>The CPU default.</summary>
    public static ModelConfig Tiny { get; } = new();

    /// <summary>The thesis' model.</summary>
    public static ModelConfig Base { get; } = new()
    {
        Name = "base", Dim = 768, Heads = 12, ModalityDepth = 10, JointDepth = 2, DecoderDim = 512, DecoderDepth = 8,
        DecoderHeads = 16, AvmHeads = 12, AudioFrames = 1024, FrameSize = 224,
    };

    /// <summary>The preset called <paramref name="name"/> (tiny or base).</summary>
    public static ModelConfig Preset(string name) => name.ToLowerInvariant() switch
    {
        "tiny" => Tiny,
        "base" => Base,
        _ => throw new Stella.Core.UserInputException($"unknown model preset '{name}': use tiny or base"),
    };
}
