using System.Diagnostics;
using Stella.Media.Decode;

namespace Stella.Media.Tests;

public sealed class ClipDecoderTests
{
    private static ClipDecoder Decoder(TimeSpan? timeout = null) =>
        new(new DecodeOptions { FrameSize = 32, Timeout = timeout ?? TimeSpan.FromSeconds(30) });

    [Fact]
    public async Task DecodeAsync_GoodClip_GivesAudioAndCentredFrames()
    {
        var path = await TestMedia.Mp4Async(TestMedia.TempDir(), "good.mp4", 8);
        var clip = await Decoder().DecodeAsync(path, FrameWindow.Eval);

        Assert.InRange(clip.Duration, 7.9, 8.2);
        Assert.InRange(clip.Audio!.Length, 8 * 16000 * 0.98, 8 * 16000 * 1.05);
        Assert.Equal(4, clip.FrameCount);
        Assert.Equal(4 * 32 * 32 * 3, clip.Frames!.Length);
        // Eval window of 3.125 s is centred: start = (8 - 3.125) / 2; frames 1 s apart show grey levels 10 apart.
        Assert.InRange(clip.VideoStart, 2.4, 2.5);
        var levels = Enumerable.Range(0, 4).Select(i => (int)clip.Frames[i * 32 * 32 * 3]).ToArray();
        for (var i = 1; i < 4; i++)
        {
            Assert.InRange(levels[i] - levels[i - 1], 7, 13);
        }

        // The tone survives AAC: the PCM is mostly a 440 Hz sine of amplitude ~0.4.
        var rms = Math.Sqrt(clip.Audio.Skip(16000).Take(16000).Average(v => v * v));
        Assert.InRange(rms, 0.25, 0.32);
    }

    [Fact]
    public async Task DecodeAsync_TrainWindow_StartsAtSeededRandomPoints()
    {
        var path = await TestMedia.Mp4Async(TestMedia.TempDir(), "train.mp4", 8);
        var a = await Decoder().DecodeAsync(path, FrameWindow.Train(new Random(5)));
        var b = await Decoder().DecodeAsync(path, FrameWindow.Train(new Random(5)));
        var c = await Decoder().DecodeAsync(path, FrameWindow.Train(new Random(6)));
        Assert.Equal(a.VideoStart, b.VideoStart);
        Assert.NotEqual(a.VideoStart, c.VideoStart);
        Assert.InRange(a.VideoStart, 0, 8 - 3.125);
    }

    [Fact]
    public async Task DecodeAsync_MissingFile_IsTyped()
    {
        var path = Path.Combine(TestMedia.TempDir(), "nope.mp4");
        var e = await Assert.ThrowsAsync<DecodeException>(() => Decoder().DecodeAsync(path, FrameWindow.Eval));
        Assert.Equal(DecodeFailure.MissingFile, e.Failure);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public async Task DecodeAsync_VideoWithoutAudio_IsNoAudioStream()
    {
        var path = await TestMedia.Mp4Async(TestMedia.TempDir(), "silent.mp4", 5, audio: false);
        var e = await Assert.ThrowsAsync<DecodeException>(() => Decoder().DecodeAsync(path, FrameWindow.Eval));
        Assert.Equal(DecodeFailure.NoAudioStream, e.Failure);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public async Task DecodeAsync_WavWhenVideoIsNeeded_IsNoVideoStream()
    {
        var path = Path.Combine(TestMedia.TempDir(), "audio.wav");
        Ffmpeg.WavFile.WritePcm16(path, TestMedia.Tone(5), 16000);
        var e = await Assert.ThrowsAsync<DecodeException>(() => Decoder().DecodeAsync(path, FrameWindow.Eval));
        Assert.Equal(DecodeFailure.NoVideoStream, e.Failure);

        var audioOnly = await Decoder().DecodeAsync(path, FrameWindow.Eval, wantAudio: true, wantVideo: false);
        Assert.Equal(5 * 16000, audioOnly.Audio!.Length);
        Assert.Null(audioOnly.Frames);
    }

    [Fact]
    public async Task DecodeAsync_ShortClip_IsTooShort()
    {
        var path = await TestMedia.Mp4Async(TestMedia.TempDir(), "short.mp4", 2);
        var e = await Assert.ThrowsAsync<DecodeException>(() => Decoder().DecodeAsync(path, FrameWindow.Eval));
        Assert.Equal(DecodeFailure.TooShort, e.Failure);
        Assert.Contains("shorter than the minimum 4 s", e.Message);
    }

    [Fact]
    public async Task DecodeAsync_Garbage_IsCorrupt()
    {
        var path = Path.Combine(TestMedia.TempDir(), "garbage.mp4");
        await File.WriteAllBytesAsync(path, Enumerable.Range(0, 50_000).Select(i => (byte)(i * 7919 % 251)).ToArray());
        var e = await Assert.ThrowsAsync<DecodeException>(() => Decoder().DecodeAsync(path, FrameWindow.Eval));
        Assert.Equal(DecodeFailure.Corrupt, e.Failure);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public async Task DecodeAsync_TruncatedMp4_IsCorrupt()
    {
        var dir = TestMedia.TempDir();
        var good = await TestMedia.Mp4Async(dir, "whole.mp4", 6);
        var bytes = await File.ReadAllBytesAsync(good);
        var path = Path.Combine(dir, "truncated.mp4");
        await File.WriteAllBytesAsync(path, bytes[..(bytes.Length / 2)]);
        var e = await Assert.ThrowsAsync<DecodeException>(() => Decoder().DecodeAsync(path, FrameWindow.Eval));
        Assert.Equal(DecodeFailure.Corrupt, e.Failure);
    }

    [Fact]
    public async Task DecodeAsync_InputThatHangsFfmpeg_IsTimeout()
    {
        // A named pipe with no writer: ffprobe blocks opening it forever.
        var path = Path.Combine(TestMedia.TempDir(), "hang.mp4");
        Process.Start("mkfifo", path).WaitForExit();
        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<DecodeException>(() => Decoder(TimeSpan.FromSeconds(1)).DecodeAsync(path, FrameWindow.Eval));
        Assert.Equal(DecodeFailure.Timeout, e.Failure);
        Assert.Contains("within 1 s", e.Message);
        Assert.Contains(path, e.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"the timeout must bound the call, took {watch.Elapsed}");
    }
}
