namespace Stella.Media.Features;

/// <summary>Spectrogram settings after the fbank: target length and normalization (reference: 1024 frames, mean -5.081, std 4.4849).</summary>
public sealed record AudioFeatureOptions
{
    /// <summary>Frames after zero-padding or cutting; a multiple of 16. Default 1024 (10.24 s); the tiny preset uses less.</summary>
    public int TargetFrames { get; init; } = 1024;

    /// <summary>Dataset mean of the log-mel values. Default -5.081.</summary>
    public float Mean { get; init; } = -5.081f;

    /// <summary>Dataset standard deviation of the log-mel values. Default 4.4849.</summary>
    public float Std { get; init; } = 4.4849f;
}
