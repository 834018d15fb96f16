using Stella.Core.Arrays;
using Stella.Media.Decode;
using Stella.Media.Features;
using Stella.Media.Inspect;

namespace Stella.Media.Tests;

public sealed class ClipInspectorTests
{
    [Fact]
    public async Task InspectAsync_Mp4_WritesArraysOfTheDocumentedShapes_AndPngs()
    {
        var dir = TestMedia.TempDir();
        var clip = await TestMedia.Mp4Async(dir, "clip.mp4", 6);
        var outDir = Path.Combine(dir, "out");
        var inspector = new ClipInspector(new ClipDecoder(new DecodeOptions { FrameSize = 64 }), new AudioFeatures(new AudioFeatureOptions { TargetFrames = 512 }));

        var files = await inspector.InspectAsync(clip, outDir);

        Assert.Equal(
            new[] { "audio_patches.npy", "fbank.npy", "frames.npy", "frames.png", "spectrogram.png", "video_patches.npy" },
            files.Select(Path.GetFileName).Order());
        var (fbank, fshape) = Npy.ReadFloat32(Path.Combine(outDir, "fbank.npy"));
        Assert.Equal(128, fshape[1]);
        Assert.InRange(fshape[0], 595, 605);
        Assert.All(fbank, v => Assert.True(float.IsFinite(v)));
        var (_, frameShape) = Npy.ReadUInt8(Path.Combine(outDir, "frames.npy"));
        Assert.Equal(new long[] { 4, 64, 64, 3 }, frameShape);
        Assert.Equal(new long[] { 32 * 8, 256 }, Npy.ReadFloat32(Path.Combine(outDir, "audio_patches.npy")).Shape);
        Assert.Equal(new long[] { 4 * 4 * 4, 768 }, Npy.ReadFloat32(Path.Combine(outDir, "video_patches.npy")).Shape);
        foreach (var png in new[] { "frames.png", "spectrogram.png" })
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(outDir, png));
            Assert.True(bytes.Length > 500, $"{png} is {bytes.Length} bytes");
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        }
    }

    [Fact]
    public async Task InspectAsync_Wav_WritesAudioFilesOnly()
    {
        var dir = TestMedia.TempDir();
        var wav = Path.Combine(dir, "a.wav");
        Ffmpeg.WavFile.WritePcm16(wav, TestMedia.Tone(2), 16000);
        var inspector = new ClipInspector(new ClipDecoder(new DecodeOptions { MinSeconds = 0.05 }), new AudioFeatures());
        var files = await inspector.InspectAsync(wav, Path.Combine(dir, "out"));
        Assert.Equal(new[] { "audio_patches.npy", "fbank.npy", "spectrogram.png" }, files.Select(Path.GetFileName).Order());
        Assert.Equal(new long[] { 198, 128 }, Npy.ReadFloat32(Path.Combine(dir, "out", "fbank.npy")).Shape);
    }
}
