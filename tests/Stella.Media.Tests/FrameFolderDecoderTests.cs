using NAudio.Wave;
using SkiaSharp;
using Stella.Media.Decode;

namespace Stella.Media.Tests;

public sealed class FrameFolderDecoderTests
{
    private static readonly DecodeOptions Options = new() { FrameSize = 32 };

    /// <summary>An authors'-layout clip: <paramref name="frames"/> 64x64 JPEGs, frame i filled with grey level 3 * i, and a WAV.</summary>
    private static (string Frames, string Wav) Clip(int frames = 80, double seconds = 10, int rate = 16000, int channels = 1)
    {
        var dir = TestMedia.TempDir();
        var folder = Directory.CreateDirectory(Path.Combine(dir, "frames", "vid1")).FullName;
        for (var i = 0; i < frames; i++)
        {
            using var bitmap = new SKBitmap(64, 64);
            bitmap.Erase(new SKColor((byte)(3 * i), (byte)(3 * i), (byte)(3 * i)));
            using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 95);
            File.WriteAllBytes(Path.Combine(folder, FrameFolderDecoder.FrameName(i)), data.ToArray());
        }

        var wav = Path.Combine(dir, "vid1.wav");
        using (var writer = new WaveFileWriter(wav, new WaveFormat(rate, 16, channels)))
        {
            var n = (int)(seconds * rate);
            for (var s = 0; s < n; s++)
            {
                for (var c = 0; c < channels; c++)
                {
                    // Left 0.5, right -0.1: their mean is 0.2.
                    writer.WriteSample(c == 0 ? 0.5f : -0.1f);
                }
            }
        }

        return (folder, wav);
    }

    private static int Grey(DecodedClip clip, int frame) => clip.Frames![(frame * 32 * 32 * 3) + ((16 * 32) + 16) * 3];

    [Fact]
    public async Task EvalWindow_TakesFrames24To48_EightApart_AndTheWavAt16kHz()
    {
        var (frames, wav) = Clip();
        var clip = await new FrameFolderDecoder(new ClipDecoder(Options)).DecodeAsync(frames, wav, FrameWindow.Eval);

        Assert.Equal(4, clip.FrameCount);
        Assert.Equal(3.0, clip.VideoStart);
        Assert.Equal(10.0, clip.Duration);
        // JPEG keeps a flat grey within a level or two.
        Assert.All(new[] { 24, 32, 40, 48 }.Select((index, f) => (index, f)), p => Assert.InRange(Grey(clip, p.f), (3 * p.index) - 2, (3 * p.index) + 2));
        Assert.Equal(160000, clip.Audio!.Length);
        Assert.All(clip.Audio, s => Assert.InRange(s, 0.4999f, 0.5001f));
    }

    [Fact]
    public async Task TrainWindow_StartsInTheFirstSixSeconds_OnAFrame_AndStereo44kHzIsAveragedAndResampled()
    {
        var (frames, wav) = Clip(rate: 44100, channels: 2);
        var decoder = new FrameFolderDecoder(new ClipDecoder(Options));
        for (var seed = 0; seed < 5; seed++)
        {
            var clip = await decoder.DecodeAsync(frames, wav, FrameWindow.Train(new Random(seed)));
            var first = (int)Math.Round(clip.VideoStart * 8);
            Assert.InRange(clip.VideoStart, 0, 5.875);
            Assert.Equal(first / 8.0, clip.VideoStart);
            Assert.All(Enumerable.Range(0, 4), f => Assert.InRange(Grey(clip, f), (3 * (first + (8 * f))) - 2, (3 * (first + (8 * f))) + 2));
            Assert.InRange(clip.Audio!.Length, 159_900, 160_000);
            Assert.All(clip.Audio.Skip(100).Take(159_000), s => Assert.InRange(s, 0.195f, 0.205f));
        }
    }

    [Fact]
    public async Task BadItems_AreTypedErrorsThatSayWhat()
    {
        var decoder = new FrameFolderDecoder(new ClipDecoder(Options));

        var (frames, wav) = Clip();
        File.Delete(Path.Combine(frames, "frame_30.jpg"));
        var missing = await Assert.ThrowsAsync<DecodeException>(() => decoder.DecodeAsync(frames, wav, FrameWindow.Eval));
        Assert.Equal(DecodeFailure.MissingFile, missing.Failure);
        Assert.Contains("frame_30.jpg is missing (1 of frames 0..79 missing)", missing.Message);

        (frames, wav) = Clip();
        await File.WriteAllTextAsync(Path.Combine(frames, "frame_32.jpg"), "not a jpeg");
        var unreadable = await Assert.ThrowsAsync<DecodeException>(() => decoder.DecodeAsync(frames, wav, FrameWindow.Eval));
        Assert.Equal(DecodeFailure.Corrupt, unreadable.Failure);
        Assert.Contains("frame_32.jpg is not a readable JPEG", unreadable.Message);

        (frames, wav) = Clip(seconds: 2);
        var shortAudio = await Assert.ThrowsAsync<DecodeException>(() => decoder.DecodeAsync(frames, wav, FrameWindow.Eval));
        Assert.Equal(DecodeFailure.TooShort, shortAudio.Failure);
        Assert.Contains("2 s of audio is shorter than the minimum 4 s", shortAudio.Message);

        (frames, wav) = Clip(frames: 20);
        var fewFrames = await Assert.ThrowsAsync<DecodeException>(() => decoder.DecodeAsync(frames, wav, FrameWindow.Eval));
        Assert.Equal(DecodeFailure.TooShort, fewFrames.Failure);
        Assert.Contains("20 frames at 8 fps (2.5 s) are shorter than the minimum 4 s", fewFrames.Message);

        (frames, _) = Clip();
        var noAudio = await Assert.ThrowsAsync<DecodeException>(() => decoder.DecodeAsync(frames, Path.Combine(frames, "gone.mp3"), FrameWindow.Eval));
        Assert.Equal(DecodeFailure.MissingFile, noAudio.Failure);

        (frames, wav) = Clip();
        await File.WriteAllTextAsync(wav, "RIFF but not really");
        var badWav = await Assert.ThrowsAsync<DecodeException>(() => decoder.DecodeAsync(frames, wav, FrameWindow.Eval));
        Assert.Equal(DecodeFailure.Corrupt, badWav.Failure);
        Assert.Contains("not a readable WAV file", badWav.Message);
    }
}
