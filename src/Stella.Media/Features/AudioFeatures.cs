using Stella.Media.Audio;

namespace Stella.Media.Features;

/// <summary>Waveform to model input: mean removal, Kaldi fbank, zero-pad or cut to the target length, normalization.</summary>
public sealed class AudioFeatures
{
    private readonly KaldiFbank _fbank;

    /// <summary>Creates the stage.</summary>
    public AudioFeatures(AudioFeatureOptions? options = null, KaldiFbank? fbank = null)
    {
        Options = options ?? new AudioFeatureOptions();
        if (Options.TargetFrames <= 0 || Options.TargetFrames % 16 != 0)
        {
            throw new ArgumentException($"target frames must be a positive multiple of 16, got {Options.TargetFrames}");
        }

        _fbank = fbank ?? new KaldiFbank();
    }

    /// <summary>The settings.</summary>
    public AudioFeatureOptions Options { get; }

    /// <summary>Mel bins of the output.</summary>
    public int MelBins => _fbank.Options.MelBins;

    /// <summary>The raw fbank [frames, mel] of <paramref name="wave"/> after subtracting its mean (as the reference does).</summary>
    public float[] RawFbank(ReadOnlySpan<float> wave, out int frames)
    {
        var centred = new float[wave.Length];
        double sum = 0;
        foreach (var v in wave)
        {
            sum += v;
        }

        var mean = wave.Length == 0 ? 0f : (float)(sum / wave.Length);
        for (var i = 0; i < wave.Length; i++)
        {
            centred[i] = wave[i] - mean;
        }

        return _fbank.Compute(centred, out frames);
    }

    /// <summary>The normalized [TargetFrames, mel] spectrogram of <paramref name="wave"/>.</summary>
    public float[] Compute(ReadOnlySpan<float> wave)
    {
        var raw = RawFbank(wave, out var frames);
        return PadCutNormalize(raw, frames);
    }

    /// <summary>Zero-pads (in the log domain, as the reference pads the fbank with zeros) or cuts to the target, then normalizes.</summary>
    public float[] PadCutNormalize(ReadOnlySpan<float> raw, int frames)
    {
        var bins = MelBins;
        var target = Options.TargetFrames;
        var result = new float[target * bins];
        var keep = Math.Min(frames, target);
        raw[..(keep * bins)].CopyTo(result);
        var scale = 1f / Options.Std;
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = (result[i] - Options.Mean) * scale;
        }

        return result;
    }
}
