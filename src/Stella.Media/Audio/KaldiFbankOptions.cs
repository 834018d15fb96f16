namespace Stella.Media.Audio;

/// <summary>
/// Settings of the Kaldi log-mel filterbank. The defaults are those of the STELLA/CAV-MAE preprocessing:
/// 16 kHz, 128 mel bins, 25 ms window, 10 ms shift, hanning window, preemphasis 0.97, no energy, no dither,
/// snip_edges, DC offset removed, power spectrum, low frequency 20 Hz, high frequency Nyquist.
/// </summary>
public sealed record KaldiFbankOptions
{
    /// <summary>Sample rate in Hz. Default 16000.</summary>
    public int SampleRate { get; init; } = 16000;

    /// <summary>Number of mel bins. Default 128.</summary>
    public int MelBins { get; init; } = 128;

    /// <summary>Frame length in milliseconds. Default 25.</summary>
    public double FrameLengthMs { get; init; } = 25.0;

    /// <summary>Frame shift in milliseconds. Default 10.</summary>
    public double FrameShiftMs { get; init; } = 10.0;

    /// <summary>Preemphasis coefficient. Default 0.97.</summary>
    public double Preemphasis { get; init; } = 0.97;

    /// <summary>Lowest filter edge in Hz. Default 20.</summary>
    public double LowFrequency { get; init; } = 20.0;

    /// <summary>Highest filter edge in Hz; 0 or less means Nyquist plus this value (Kaldi's rule). Default 0.</summary>
    public double HighFrequency { get; init; }

    /// <summary>Window: <c>hanning</c> (default), <c>hamming</c> or <c>povey</c>.</summary>
    public string Window { get; init; } = "hanning";

    /// <summary>Samples per frame.</summary>
    public int WindowSize => (int)(SampleRate * FrameLengthMs / 1000.0);

    /// <summary>Samples between frame starts.</summary>
    public int WindowShift => (int)(SampleRate * FrameShiftMs / 1000.0);

    /// <summary>FFT length: the window size rounded up to a power of two.</summary>
    public int FftSize => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)WindowSize);

    /// <summary>Number of frames for <paramref name="samples"/> samples with snip_edges (0 when shorter than a window).</summary>
    public int FrameCount(int samples) => samples < WindowSize ? 0 : 1 + ((samples - WindowSize) / WindowShift);
}
