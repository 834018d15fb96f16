namespace Stella.Media.Synth;

/// <summary>What <see cref="SynthGenerator.GenerateAsync"/> wrote.</summary>
/// <param name="Clips">Clips written.</param>
/// <param name="TrainClips">Of which training clips.</param>
/// <param name="Classes">Number of classes.</param>
/// <param name="Elapsed">Wall time.</param>
public sealed record SynthSummary(int Clips, int TrainClips, int Classes, TimeSpan Elapsed)
{
    /// <summary>Of which warm-up (base) clips.</summary>
    public int BaseClips { get; init; }
}
