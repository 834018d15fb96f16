using Stella.Media.Features;

namespace Stella.Media.Tests;

public sealed class AudioFeaturesTests
{
    [Fact]
    public void PadCutNormalize_PadsWithLogZeroAndNormalizes()
    {
        var features = new AudioFeatures(new AudioFeatureOptions { TargetFrames = 32 });
        var raw = Enumerable.Repeat(-5.081f + 4.4849f, 10 * 128).ToArray();
        var result = features.PadCutNormalize(raw, 10);
        Assert.Equal(32 * 128, result.Length);
        Assert.All(result.Take(10 * 128), v => Assert.Equal(1f, v, 5));
        Assert.All(result.Skip(10 * 128), v => Assert.Equal(5.081f / 4.4849f, v, 5));
    }

    [Fact]
    public void Compute_LongWave_IsCutToTarget_AndMeanIsRemovedFirst()
    {
        var features = new AudioFeatures(new AudioFeatureOptions { TargetFrames = 16 });
        var wave = TestMedia.Tone(1);
        var shifted = wave.Select(v => v + 0.3f).ToArray();
        Assert.Equal(16 * 128, features.Compute(wave).Length);
        var a = features.RawFbank(wave, out var frames);
        var b = features.RawFbank(shifted, out _);
        Assert.Equal(98, frames);
        Assert.True(a.Zip(b).Max(p => Math.Abs(p.First - p.Second)) < 1e-3, "a DC offset must not change the fbank");
    }

    [Fact]
    public void FrameFeatures_UsesImageNetStatistics_ChannelFirst()
    {
        var rgb = new byte[] { 255, 0, 128 };
        var result = FrameFeatures.Normalize(rgb, 1, 1);
        Assert.Equal((1f - 0.485f) / 0.229f, result[0], 5);
        Assert.Equal((0f - 0.456f) / 0.224f, result[1], 5);
        Assert.Equal(((128 / 255f) - 0.406f) / 0.225f, result[2], 5);
    }
}
