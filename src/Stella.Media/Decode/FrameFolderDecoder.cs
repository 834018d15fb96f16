using System.Globalization;
using NAudio.Wave;
using NAudio.Wave.SampleProviders;
using SkiaSharp;

namespace Stella.Media.Decode;

/// <summary>
/// Decodes a clip in the STELLA authors' preprocessed layout: a folder of JPEG frames <c>frame_{0..N-1}.jpg</c> extracted at
/// <see cref="DecodeOptions.SampleFps"/> (8 fps: 80 frames for a 10 s clip, 256x256) and an audio file (MP3 at 16 kHz, or WAV).
/// The frames of the window are read directly (SkiaSharp decodes JPEG and resizes bilinearly to the model's frame size; close to,
/// not bit-equal with, ffmpeg's scale filter for MP4 clips), no video decoder involved. The window is the authors': <c>Frames</c> frames
/// <c>FrameStride</c> apart inside a <c>Frames * FrameStride / SampleFps</c> (4 s) span, so evaluation takes frames 24, 32, 40, 48
/// of an 80-frame clip and training a random start in [0, 6) s. Audio: WAV through NAudio (channels averaged, resampled to
/// <see cref="DecodeOptions.SampleRate"/> when it differs), anything else through ffmpeg as MP4 audio is. Failures are the same
/// typed <see cref="DecodeException"/>s as for MP4 clips: a missing folder, frame or audio file, an unreadable JPEG or audio
/// file, frames or audio shorter than <see cref="DecodeOptions.MinSeconds"/>. Thread-safe.
/// </summary>
public sealed class FrameFolderDecoder(ClipDecoder audioDecoder)
{
    /// <summary>The settings (those of the decoder MP3 audio goes through).</summary>
    public DecodeOptions Options => audioDecoder.Options;

    /// <summary>Decodes the window's frames from <paramref name="frameFolder"/> and the audio from <paramref name="audioPath"/>.</summary>
    public async Task<DecodedClip> DecodeAsync(string frameFolder, string audioPath, FrameWindow window, CancellationToken ct = default)
    {
        var o = Options;
        var count = CountFrames(frameFolder);
        var duration = count / (double)o.SampleFps;
        if (duration < o.MinSeconds)
        {
            throw new DecodeException(DecodeFailure.TooShort, frameFolder,
                string.Create(CultureInfo.InvariantCulture, $"{count} frames at {o.SampleFps} fps ({duration:0.###} s) are shorter than the minimum {o.MinSeconds} s"));
        }

        // The authors' window: a span of Frames * FrameStride frames (4 s), its start from the window rule, on a frame boundary.
        var span = o.Frames * o.FrameStride / (double)o.SampleFps;
        var start = window.Start(duration, span);
        var first = Math.Min(count - 1, (int)Math.Floor((start * o.SampleFps) + 1e-9));
        var indices = window.IsWhole
            ? Enumerable.Range(0, count).ToArray()
            : Enumerable.Range(0, o.Frames).Select(i => Math.Min(first + (i * o.FrameStride), count - 1)).ToArray();
        var frameBytes = o.FrameSize * o.FrameSize * 3;
        var frames = new byte[indices.Length * frameBytes];
        for (var i = 0; i < indices.Length; i++)
        {
            ct.ThrowIfCancellationRequested();
            ReadFrame(Path.Combine(frameFolder, FrameName(indices[i])), frameFolder, frames.AsSpan(i * frameBytes, frameBytes));
        }

        var audio = await DecodeAudioAsync(audioPath, ct).ConfigureAwait(false);
        return new DecodedClip(frameFolder, duration, audio, frames, indices.Length, o.FrameSize, window.IsWhole ? 0 : first / (double)o.SampleFps, window.IsWhole);
    }

    /// <summary>The file name of frame <paramref name="index"/>.</summary>
    public static string FrameName(int index) => string.Create(CultureInfo.InvariantCulture, $"frame_{index}.jpg");

    /// <summary>Frames in the folder: frame_0 .. frame_{N-1}, every one present (a gap is a missing frame, named).</summary>
    private static int CountFrames(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new DecodeException(DecodeFailure.MissingFile, folder, "frame folder not found");
        }

        var present = new HashSet<int>();
        foreach (var file in Directory.EnumerateFiles(folder, "frame_*.jpg"))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            if (int.TryParse(name.AsSpan("frame_".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                present.Add(index);
            }
        }

        if (present.Count == 0)
        {
            throw new DecodeException(DecodeFailure.MissingFile, folder, "no frame_0.jpg, frame_1.jpg, ... in the frame folder");
        }

        var last = present.Max();
        var missing = Enumerable.Range(0, last + 1).Where(i => !present.Contains(i)).ToList();
        if (missing.Count > 0)
        {
            throw new DecodeException(DecodeFailure.MissingFile, folder,
                $"{FrameName(missing[0])} is missing ({missing.Count} of frames 0..{last} missing)");
        }

        return last + 1;
    }

    private void ReadFrame(string path, string folder, Span<byte> rgb)
    {
        using var decoded = SKBitmap.Decode(path)
            ?? throw new DecodeException(DecodeFailure.Corrupt, folder, $"{Path.GetFileName(path)} is not a readable JPEG");
        var size = Options.FrameSize;
        using var resized = decoded.Width == size && decoded.Height == size && decoded.ColorType == SKColorType.Rgba8888
            ? decoded.Copy()
            : decoded.Resize(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque), new SKSamplingOptions(SKFilterMode.Linear));
        if (resized is null)
        {
            throw new DecodeException(DecodeFailure.Corrupt, folder, $"{Path.GetFileName(path)} could not be resized to {size}x{size}");
        }

        var pixels = resized.GetPixelSpan();
        for (var p = 0; p < size * size; p++)
        {
            rgb[(p * 3) + 0] = pixels[(p * 4) + 0];
            rgb[(p * 3) + 1] = pixels[(p * 4) + 1];
            rgb[(p * 3) + 2] = pixels[(p * 4) + 2];
        }
    }

    private async Task<float[]> DecodeAudioAsync(string path, CancellationToken ct)
    {
        if (!File.Exists(path))
        {
            throw new DecodeException(DecodeFailure.MissingFile, path, "audio file not found");
        }

        if (!path.EndsWith(".wav", StringComparison.OrdinalIgnoreCase))
        {
            // MP3 (the authors' files) and any other container: ffmpeg, exactly as the audio of an MP4 clip.
            return (await audioDecoder.DecodeAsync(path, FrameWindow.Eval, wantAudio: true, wantVideo: false, ct).ConfigureAwait(false)).Audio!;
        }

        var o = Options;
        try
        {
            using var reader = new WaveFileReader(path);
            var seconds = reader.TotalTime.TotalSeconds;
            if (seconds < o.MinSeconds)
            {
                throw new DecodeException(DecodeFailure.TooShort, path,
                    string.Create(CultureInfo.InvariantCulture, $"{seconds:0.###} s of audio is shorter than the minimum {o.MinSeconds} s"));
            }

            ISampleProvider samples = reader.ToSampleProvider();
            var channels = samples.WaveFormat.Channels;
            if (samples.WaveFormat.SampleRate != o.SampleRate)
            {
                samples = new WdlResamplingSampleProvider(samples, o.SampleRate);
            }

            var wanted = (int)Math.Round(Math.Min(seconds, o.MaxAudioSeconds) * o.SampleRate);
            var interleaved = new float[wanted * channels];
            var read = 0;
            while (read < interleaved.Length)
            {
                var n = samples.Read(interleaved.AsSpan(read));
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            // Channels averaged, as the authors' reader does with stereo files.
            var mono = new float[read / channels];
            for (var i = 0; i < mono.Length; i++)
            {
                var sum = 0f;
                for (var c = 0; c < channels; c++)
                {
                    sum += interleaved[(i * channels) + c];
                }

                mono[i] = sum / channels;
            }

            return mono;
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or EndOfStreamException or ArgumentException)
        {
            throw new DecodeException(DecodeFailure.Corrupt, path, $"not a readable WAV file: {e.Message}", inner: e);
        }
    }
}
