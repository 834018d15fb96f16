using FFMpegCore;
using FFMpegCore.Pipes;

namespace Stella.Media.Ffmpeg;

/// <summary>Encodes RGB frames and mono PCM into an MP4 (H.264 + AAC) with ffmpeg, reproducibly.</summary>
public static class Mp4Encoder
{
    /// <summary>
    /// Writes <paramref name="path"/> from <paramref name="frames"/> (RGB24, <paramref name="fps"/>) and <paramref name="audio"/>
    /// (mono float PCM at <paramref name="sampleRate"/>; null for a clip without audio). Single-threaded, bit-exact
    /// flags and no metadata, so the same inputs give the same bytes. The file appears only when complete.
    /// </summary>
    public static async Task EncodeAsync(
        string path, IReadOnlyList<byte[]> frames, int width, int height, int fps, float[]? audio, int sampleRate,
        CancellationToken cancellationToken = default)
    {
        FfmpegTools.EnsureAvailable();
        var temp = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileNameWithoutExtension(path)}.{Guid.NewGuid():N}.mp4");
        var wav = audio is null ? null : Path.ChangeExtension(temp, ".wav");
        try
        {
            if (wav is not null)
            {
                WavFile.WritePcm16(wav, audio!, sampleRate);
            }

            var source = new RawVideoPipeSource(frames.Select(f => (IVideoFrame)new RgbFrame(f, width, height))) { FrameRate = fps };
            var args = FFMpegArguments.FromPipeInput(source);
            if (wav is not null)
            {
                args = args.AddFileInput(wav);
            }

            var result = await args
                .OutputToFile(temp, overwrite: true, o =>
                {
                    o.WithVideoCodec("libx264")
                        .WithCustomArgument("-pix_fmt yuv420p -preset veryfast -crf 18 -threads 1 -g 16 -map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact");
                    if (wav is not null)
                    {
                        o.WithAudioCodec("aac").WithAudioBitrate(96).WithAudioSamplingRate(sampleRate);
                    }

                    o.ForceFormat("mp4");
                })
                .CancellableThrough(cancellationToken)
                .ProcessAsynchronously(throwOnError: false)
                .ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            if (!result.Success)
            {
                throw new IOException($"ffmpeg failed to encode {path} (exit {result.ExitCode}): {string.Join(" | ", result.StandardError.TakeLast(3))}");
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
            if (wav is not null)
            {
                File.Delete(wav);
            }
        }
    }
}
