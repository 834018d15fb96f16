using Stella.Continual.Randomness;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Pipeline.Augment;

/// <summary>
/// The augmentation of one training clip in one epoch. Every draw comes from SplitMix64 streams keyed by (run seed, task, epoch,
/// clip id) alone, so parallel decoding, the feature cache, read-ahead and a resumed run all give the same input. Each augmentation
/// has a stream of its own: turning one on or off does not change the others' draws.
/// </summary>
public sealed class ClipAugmentation
{
    /// <summary>The crop scales of the authors' multi-scale crop.</summary>
    public static readonly double[] CropScales = [1.0, 0.875, 0.75];

    private ClipAugmentation(AugmentOptions options, ulong key)
    {
        Options = options;
        Key = key;
    }

    /// <summary>What is on.</summary>
    public AugmentOptions Options { get; }

    /// <summary>The clip's key in its epoch.</summary>
    public ulong Key { get; }

    /// <summary>The augmentation of clip <paramref name="clipId"/> of <paramref name="task"/> in <paramref name="epoch"/> of run <paramref name="seed"/>.</summary>
    public static ClipAugmentation For(AugmentOptions options, int seed, int task, int epoch, string clipId)
    {
        // FNV-1a over the id's UTF-8 bytes (string.GetHashCode is randomized per process), then SplitMix64 finalizers chain the parts.
        var id = 14695981039346656037UL;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(clipId))
        {
            id = (id ^ b) * 1099511628211UL;
        }

        var key = Mix((ulong)(uint)seed);
        key = Mix(key ^ (ulong)(uint)task);
        key = Mix(key ^ (ulong)(uint)epoch);
        return new ClipAugmentation(options, Mix(key ^ id));
    }

    /// <summary>First frame of the window among <paramref name="available"/> frames for a window of <paramref name="span"/> frames: uniform in [0, max(0, available - span)].</summary>
    public int WindowStart(int available, int span) => (int)Stream(1).NextInt64(Math.Max(0, available - span) + 1);

    /// <summary>The crop (side, left, top) of a <paramref name="size"/> square frame.</summary>
    public (int Side, int X, int Y) Crop(int size)
    {
        var rng = Stream(2);
        var side = (int)Math.Round(size * CropScales[rng.NextInt64(CropScales.Length)]);
        return (side, (int)rng.NextInt64(size - side + 1), (int)rng.NextInt64(size - side + 1));
    }

    /// <summary>The time shift of the roll for <paramref name="frames"/> time frames: uniform in [-frames, frames).</summary>
    public int Roll(int frames) => (int)Stream(3).NextInt64(2L * frames) - frames;

    /// <summary>
    /// The window's frames (uint8 [frames, size, size, 3]) from every frame of the clip (<paramref name="all"/>, <paramref name="available"/>
    /// of them): frames k, k + stride, ... with k from <see cref="WindowStart"/>; past the end the last frame repeats, as the decoder does.
    /// </summary>
    public (byte[] Frames, int Start) Window(byte[] all, int available, int frameBytes, int frames, int stride)
    {
        var start = WindowStart(available, ((frames - 1) * stride) + 1);
        var result = new byte[frames * frameBytes];
        for (var i = 0; i < frames; i++)
        {
            Buffer.BlockCopy(all, Math.Min(start + (i * stride), available - 1) * frameBytes, result, i * frameBytes, frameBytes);
        }

        return (result, start);
    }

    /// <summary>The normalized fbank [time, mel] with the noise and the roll that are on (a new array; the input is not changed).</summary>
    public float[] Spectrogram(float[] fbank, int time, int mel)
    {
        var result = (float[])fbank.Clone();
        if (Options.FbankNoise)
        {
            var rng = Stream(4);
            var scale = rng.NextDouble() / 10;
            for (var i = 0; i < result.Length; i++)
            {
                result[i] += (float)(rng.NextDouble() * scale);
            }
        }

        if (Options.TimeRoll)
        {
            result = RollTime(result, time, mel, Roll(time));
        }

        return result;
    }

    /// <summary>Frames [frames, 3, size, size] with the crop when it is on (a new array or the input).</summary>
    public float[] Frames(float[] planar, int frames, int size)
    {
        if (!Options.MultiScaleCrop)
        {
            return planar;
        }

        var (side, x, y) = Crop(size);
        return CropResize(planar, frames, size, side, x, y);
    }

    /// <summary>A cyclic shift along time: row t of the result is row (t - shift) mod time of <paramref name="fbank"/> (torch.roll).</summary>
    public static float[] RollTime(float[] fbank, int time, int mel, int shift)
    {
        var result = new float[fbank.Length];
        for (var t = 0; t < time; t++)
        {
            var from = (((t - shift) % time) + time) % time;
            Array.Copy(fbank, from * mel, result, t * mel, mel);
        }

        return result;
    }

    /// <summary>
    /// The square (<paramref name="x"/>, <paramref name="y"/>, <paramref name="side"/>) of every frame of [frames, 3, size, size],
    /// resized back to size x size (bilinear, half-pixel centres, as torchvision's resize; TorchSharp's interpolate does it).
    /// </summary>
    public static float[] CropResize(float[] planar, int frames, int size, int side, int x, int y)
    {
        if (side == size)
        {
            return planar;
        }

        using var scope = torch.NewDisposeScope();
        var input = torch.tensor(planar, [frames, 3, size, size]);
        var crop = input[.., .., TensorIndex.Slice(y, y + side), TensorIndex.Slice(x, x + side)];
        var resized = nn.functional.interpolate(crop.contiguous(), size: [size, size], mode: InterpolationMode.Bilinear, align_corners: false);
        return resized.contiguous().data<float>().ToArray();
    }

    private SplitMix64 Stream(ulong stream) => new(Mix(Key ^ (stream * 0x9E3779B97F4A7C15UL)));

    private static ulong Mix(ulong z) => SplitMix64.Mix(z);
}
