namespace Stella.Media.Synth;

/// <summary>Renders a planned clip to RGB frames and mono PCM, and gives the source's box in each frame.</summary>
public sealed class SynthRenderer
{
    private readonly SynthOptions _options;

    /// <summary>Creates a renderer for frames and audio of <paramref name="options"/>' size.</summary>
    public SynthRenderer(SynthOptions options) => _options = options;

    /// <summary>Frames in the clip.</summary>
    public int FrameCount => (int)Math.Round(_options.Seconds * _options.Fps);

    /// <summary>True when time <paramref name="t"/> (seconds) lies in a sounding interval of <paramref name="plan"/>.</summary>
    public static bool IsSounding(SynthClipPlan plan, double t) => plan.Sounding.Any(s => t >= s.Start && t < s.End);

    /// <summary>Centre of object <paramref name="o"/> at time <paramref name="t"/>: straight motion, reflected at the borders.</summary>
    public (double X, double Y) Position(SynthObject o, double t)
    {
        var size = _options.FrameSize;
        return (Reflect(o.X + (o.Vx * t), o.Radius, size - o.Radius), Reflect(o.Y + (o.Vy * t), o.Radius, size - o.Radius));
    }

    /// <summary>Scale of object <paramref name="index"/> at time <paramref name="t"/>: only the source pulses, only while it sounds.</summary>
    public static double Scale(SynthClipPlan plan, int index, double t) =>
        index == 0 && IsSounding(plan, t) ? 1.0 + (0.35 * Math.Abs(Math.Sin(2 * Math.PI * 2.5 * t))) + 0.1 : 1.0;

    /// <summary>Box [x0, y0, x1, y1] (pixels, inclusive-exclusive, clipped) of the source in frame <paramref name="frame"/>.</summary>
    public int[] SourceBox(SynthClipPlan plan, int frame)
    {
        var t = frame / (double)_options.Fps;
        var o = plan.Objects[0];
        var (x, y) = Position(o, t);
        var r = o.Radius * Scale(plan, 0, t);
        var size = _options.FrameSize;
        return
        [
            Math.Clamp((int)Math.Floor(x - r), 0, size), Math.Clamp((int)Math.Floor(y - r), 0, size),
            Math.Clamp((int)Math.Ceiling(x + r) + 1, 0, size), Math.Clamp((int)Math.Ceiling(y + r) + 1, 0, size),
        ];
    }

    /// <summary>Renders frame <paramref name="frame"/> as packed RGB24 (row-major, 3 bytes a pixel).</summary>
    public byte[] RenderFrame(SynthClipPlan plan, int frame)
    {
        var size = _options.FrameSize;
        var t = frame / (double)_options.Fps;
        var rgb = new byte[size * size * 3];
        var texture = new Random(plan.Seed ^ 0x5EED);
        var kx = 0.05 + (texture.NextDouble() * 0.1);
        var ky = 0.05 + (texture.NextDouble() * 0.1);
        var hue = texture.NextDouble();
        var drift = 0.3 + (texture.NextDouble() * 0.4);
        var (br, bg, bb) = (60 + (hue * 60), 70 + ((1 - hue) * 50), 90);

        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                // Slowly changing texture: two drifting waves and a fixed per-pixel grain.
                var wave = Math.Sin((kx * x) + (drift * t)) * Math.Cos((ky * y) - (0.5 * drift * t));
                var grain = ((((x * 73856093) ^ (y * 19349663) ^ plan.Seed) & 0xFF) / 255.0) - 0.5;
                var v = (wave * 25) + (grain * 18);
                var i = ((y * size) + x) * 3;
                rgb[i] = ClampByte(br + v);
                rgb[i + 1] = ClampByte(bg + v);
                rgb[i + 2] = ClampByte(bb + v);
            }
        }

        // Distractors first, the source last, so the source is never hidden.
        for (var k = plan.Objects.Count - 1; k >= 0; k--)
        {
            var o = plan.Objects[k];
            var (cx, cy) = Position(o, t);
            var scale = Scale(plan, k, t);
            var glow = k == 0 && scale > 1 ? 1.15 : 1.0;
            DrawShape(rgb, size, o.Type, cx, cy, o.Radius * scale, glow);
        }

        return rgb;
    }

    /// <summary>Renders the audio: background noise everywhere, the source's sound in its sounding intervals.</summary>
    public float[] RenderAudio(SynthClipPlan plan)
    {
        var sr = _options.SampleRate;
        var n = (int)Math.Round(_options.Seconds * sr);
        var audio = new float[n];
        var rng = new Random(plan.Seed ^ 0xA0D10);
        var pitchJitter = 1 + ((rng.NextDouble() - 0.5) * 0.06);
        var baseFreq = plan.Class.Register switch { 0 => 220.0, 1 => 523.25, _ => 1244.5 } * pitchJitter;
        var family = SynthCatalog.SoundFamilies[plan.Class.SoundFamily];
        var low = 0.0;
        var pinkState = new double[3];
        var background = 0.0;
        for (var i = 0; i < n; i++)
        {
            var t = i / (double)sr;
            background = (0.98 * background) + (0.02 * ((rng.NextDouble() * 2) - 1));
            var sample = background * 0.6;
            var env = Envelope(plan, t);
            if (env > 0)
            {
                var white = (rng.NextDouble() * 2) - 1;
                sample += env * 0.35 * family switch
                {
                    "sine" => Math.Sin(2 * Math.PI * baseFreq * t) + (0.3 * Math.Sin(4 * Math.PI * baseFreq * t)),
                    "square" => 0.6 * Math.Sign(Math.Sin(2 * Math.PI * baseFreq * t)),
                    "saw" => 0.8 * ((2 * ((baseFreq * t) % 1.0)) - 1),
                    "chirp" => Math.Sin(2 * Math.PI * baseFreq * (1 + (2 * (t % 0.5))) * (t % 0.5)),
                    "bell" => Math.Exp(-8 * (t % 0.4)) * (Math.Sin(2 * Math.PI * baseFreq * t) + (0.6 * Math.Sin(2 * Math.PI * 2.76 * baseFreq * t))),
                    "trill" => Math.Sin((2 * Math.PI * baseFreq * t) + (3 * Math.Sin(2 * Math.PI * 9 * t))),
                    "hiss" => HighPass(ref low, white, plan.Class.Register),
                    "drum" => Math.Exp(-25 * (t % (1.0 / (2 << plan.Class.Register)))) * LowPass(ref low, white, 0.15) * 4,
                    _ => Pink(pinkState, white, plan.Class.Register),
                };
            }

            audio[i] = (float)Math.Clamp(sample, -0.99, 0.99);
        }

        return audio;
    }

    private static double Envelope(SynthClipPlan plan, double t)
    {
        const double fade = 0.01;
        foreach (var (start, end) in plan.Sounding)
        {
            if (t >= start && t < end)
            {
                return Math.Min(1, Math.Min((t - start) / fade, (end - t) / fade));
            }
        }

        return 0;
    }

    private static double HighPass(ref double state, double white, int register)
    {
        var a = register switch { 0 => 0.5, 1 => 0.2, _ => 0.05 };
        state = ((1 - a) * state) + (a * white);
        return (white - state) * 1.2;
    }

    private static double LowPass(ref double state, double white, double a)
    {
        state = ((1 - a) * state) + (a * white);
        return state;
    }

    private static double Pink(double[] s, double white, int register)
    {
        // Three one-pole sections approximate a 1/f slope; the register shifts the band.
        var shift = 1 + register;
        s[0] = (0.997 * s[0]) + (0.029591 * white * shift);
        s[1] = (0.985 * s[1]) + (0.032534 * white * shift);
        s[2] = (0.95 * s[2]) + (0.048056 * white);
        return (s[0] + s[1] + s[2] + (0.1848 * white)) * 1.5;
    }

    private static double Reflect(double v, double lo, double hi)
    {
        var span = hi - lo;
        if (span <= 0)
        {
            return lo;
        }

        var m = (v - lo) % (2 * span);
        if (m < 0)
        {
            m += 2 * span;
        }

        return lo + (m <= span ? m : (2 * span) - m);
    }

    private static void DrawShape(byte[] rgb, int size, int type, double cx, double cy, double r, double glow)
    {
        var (_, cr, cg, cb) = SynthCatalog.Objects[type];
        var x0 = Math.Max(0, (int)(cx - r - 1));
        var x1 = Math.Min(size - 1, (int)(cx + r + 1));
        var y0 = Math.Max(0, (int)(cy - r - 1));
        var y1 = Math.Min(size - 1, (int)(cy + r + 1));
        for (var y = y0; y <= y1; y++)
        {
            for (var x = x0; x <= x1; x++)
            {
                var dx = (x - cx) / r;
                var dy = (y - cy) / r;
                if (!Inside(type, dx, dy))
                {
                    continue;
                }

                var i = ((y * size) + x) * 3;
                rgb[i] = ClampByte(cr * glow);
                rgb[i + 1] = ClampByte(cg * glow);
                rgb[i + 2] = ClampByte(cb * glow);
            }
        }
    }

    private static bool Inside(int type, double dx, double dy)
    {
        var ax = Math.Abs(dx);
        var ay = Math.Abs(dy);
        return SynthCatalog.Objects[type].Name switch
        {
            "circle" => (dx * dx) + (dy * dy) <= 1,
            "square" => ax <= 0.85 && ay <= 0.85,
            "triangle" => dy <= 0.8 && dy >= (2 * ax) - 1,
            "diamond" => ax + ay <= 1,
            "cross" => (ax <= 0.3 && ay <= 1) || (ay <= 0.3 && ax <= 1),
            "ring" => (dx * dx) + (dy * dy) <= 1 && (dx * dx) + (dy * dy) >= 0.36,
            "bar" => ax <= 1 && ay <= 0.4,
            _ => ax <= 0.95 && (ax * 0.5) + (ay * 0.866) <= 0.9,
        };
    }

    private static byte ClampByte(double v) => (byte)Math.Clamp((int)Math.Round(v), 0, 255);
}
