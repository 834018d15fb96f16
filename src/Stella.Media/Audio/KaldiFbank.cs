namespace Stella.Media.Audio;

/// <summary>
/// Kaldi-compatible log-mel filterbank, numerically equal (to ~1e-4) to
/// <c>torchaudio.compliance.kaldi.fbank(htk_compat=True, use_energy=False, dither=0, ...)</c>.
/// </summary>
/// <remarks>
/// Written by hand because TorchAudio is not available to .NET and the data path must stay free of native
/// dependencies; the FFT is a fixed-size radix-2 transform on reused buffers (no allocation per frame),
/// and the mel product skips the zero weights of each triangular filter. Thread-safe: the instance is immutable.
/// </remarks>
public sealed class KaldiFbank
{
    // torch.finfo(torch.float).eps, the floor torchaudio applies before the log.
    private const double LogFloor = 1.1920928955078125e-07;

    private readonly double[] _window;
    private readonly double[][] _melWeights;
    private readonly int[] _melStart;
    private readonly double[] _cos;
    private readonly double[] _sin;
    private readonly int[] _bitReverse;

    /// <summary>Creates the filterbank for <paramref name="options"/> (the reference defaults when null).</summary>
    public KaldiFbank(KaldiFbankOptions? options = null)
    {
        Options = options ?? new KaldiFbankOptions();
        _window = BuildWindow(Options.Window, Options.WindowSize);
        (_melWeights, _melStart) = BuildMelBanks(Options);
        var n = Options.FftSize;
        _cos = new double[n / 2];
        _sin = new double[n / 2];
        for (var k = 0; k < n / 2; k++)
        {
            _cos[k] = Math.Cos(-2 * Math.PI * k / n);
            _sin[k] = Math.Sin(-2 * Math.PI * k / n);
        }

        _bitReverse = new int[n];
        var bits = System.Numerics.BitOperations.Log2((uint)n);
        for (var i = 0; i < n; i++)
        {
            var r = 0;
            for (var b = 0; b < bits; b++)
            {
                r |= ((i >> b) & 1) << (bits - 1 - b);
            }

            _bitReverse[i] = r;
        }
    }

    /// <summary>The settings.</summary>
    public KaldiFbankOptions Options { get; }

    /// <summary>
    /// Computes the log-mel filterbank of <paramref name="wave"/> (samples in [-1, 1]).
    /// Returns a row-major [frames, mel bins] array; <paramref name="frames"/> is 0 when the wave is shorter than one window.
    /// </summary>
    public float[] Compute(ReadOnlySpan<float> wave, out int frames)
    {
        var o = Options;
        frames = o.FrameCount(wave.Length);
        var bins = o.MelBins;
        var result = new float[frames * bins];
        var n = o.FftSize;
        var size = o.WindowSize;
        var re = new double[n];
        var im = new double[n];
        var power = new double[(n / 2) + 1];
        var frame = new double[size];

        for (var f = 0; f < frames; f++)
        {
            var start = f * o.WindowShift;
            double mean = 0;
            for (var i = 0; i < size; i++)
            {
                frame[i] = wave[start + i];
                mean += frame[i];
            }

            mean /= size;
            for (var i = 0; i < size; i++)
            {
                frame[i] -= mean;
            }

            // Preemphasis with the first sample replicated, as torchaudio pads 'replicate'.
            for (var i = size - 1; i > 0; i--)
            {
                frame[i] -= o.Preemphasis * frame[i - 1];
            }

            frame[0] -= o.Preemphasis * frame[0];

            for (var i = 0; i < n; i++)
            {
                var src = _bitReverse[i];
                re[i] = src < size ? frame[src] * _window[src] : 0;
                im[i] = 0;
            }

            Fft(re, im);
            for (var k = 0; k < power.Length; k++)
            {
                power[k] = (re[k] * re[k]) + (im[k] * im[k]);
            }

            var row = result.AsSpan(f * bins, bins);
            for (var m = 0; m < bins; m++)
            {
                var weights = _melWeights[m];
                var first = _melStart[m];
                double energy = 0;
                for (var k = 0; k < weights.Length; k++)
                {
                    energy += power[first + k] * weights[k];
                }

                row[m] = (float)Math.Log(Math.Max(energy, LogFloor));
            }
        }

        return result;
    }

    /// <summary>Kaldi's mel scale: 1127 ln(1 + f / 700).</summary>
    public static double Mel(double hz) => 1127.0 * Math.Log(1.0 + (hz / 700.0));

    // In-place iterative radix-2 FFT; the input is already in bit-reversed order.
    private void Fft(double[] re, double[] im)
    {
        var n = re.Length;
        for (var len = 2; len <= n; len <<= 1)
        {
            var half = len >> 1;
            var step = n / len;
            for (var i = 0; i < n; i += len)
            {
                for (var j = 0; j < half; j++)
                {
                    var wr = _cos[j * step];
                    var wi = _sin[j * step];
                    var a = i + j;
                    var b = a + half;
                    var tr = (re[b] * wr) - (im[b] * wi);
                    var ti = (re[b] * wi) + (im[b] * wr);
                    re[b] = re[a] - tr;
                    im[b] = im[a] - ti;
                    re[a] += tr;
                    im[a] += ti;
                }
            }
        }
    }

    private static double[] BuildWindow(string type, int size)
    {
        var w = new double[size];
        var denom = size - 1;
        for (var i = 0; i < size; i++)
        {
            var c = Math.Cos(2 * Math.PI * i / denom);
            w[i] = type switch
            {
                "hanning" => 0.5 - (0.5 * c),
                "hamming" => 0.54 - (0.46 * c),
                "povey" => Math.Pow(0.5 - (0.5 * c), 0.85),
                _ => throw new ArgumentException($"unknown window type '{type}': use hanning, hamming or povey"),
            };
        }

        return w;
    }

    private static (double[][] Weights, int[] Start) BuildMelBanks(KaldiFbankOptions o)
    {
        var nyquist = o.SampleRate / 2.0;
        var high = o.HighFrequency <= 0 ? nyquist + o.HighFrequency : o.HighFrequency;
        if (o.LowFrequency < 0 || o.LowFrequency >= high || high > nyquist)
        {
            throw new ArgumentException($"mel filter edges {o.LowFrequency}..{high} Hz do not fit 0..{nyquist} Hz");
        }

        var fftBins = o.FftSize / 2;
        var binWidth = (double)o.SampleRate / o.FftSize;
        var melLow = Mel(o.LowFrequency);
        var melHigh = Mel(high);
        var delta = (melHigh - melLow) / (o.MelBins + 1);
        var weights = new double[o.MelBins][];
        var start = new int[o.MelBins];
        var row = new double[fftBins];
        for (var m = 0; m < o.MelBins; m++)
        {
            var left = melLow + (m * delta);
            var center = left + delta;
            var right = center + delta;
            int first = -1, last = -1;
            for (var k = 0; k < fftBins; k++)
            {
                var mel = Mel(binWidth * k);
                var up = (mel - left) / (center - left);
                var down = (right - mel) / (right - center);
                row[k] = Math.Max(0.0, Math.Min(up, down));
                if (row[k] > 0)
                {
                    first = first < 0 ? k : first;
                    last = k;
                }
            }

            // The Nyquist bin (index fftBins) always has weight 0, as in torchaudio's padded bank.
            start[m] = Math.Max(first, 0);
            weights[m] = first < 0 ? [] : row[first..(last + 1)];
        }

        return (weights, start);
    }
}
