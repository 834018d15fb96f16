using System.Globalization;
using System.Runtime.InteropServices;
using FFMpegCore;
using FFMpegCore.Exceptions;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using Stella.Media.Ffmpeg;

namespace Stella.Media.Decode;

/// <summary>
/// Decodes clips with ffmpeg: audio as f32 mono PCM read from ffmpeg's stdout to its end (no temp file; <see cref="FfmpegProcess"/>),
/// video as RGB24 frames resized by ffmpeg. Every failure is a <see cref="DecodeException"/> of one
/// <see cref="DecodeFailure"/> kind naming the clip; each ffprobe/ffmpeg call is bounded by a timeout and
/// transient faults are retried (Polly). Thread-safe.
/// </summary>
public sealed class ClipDecoder
{
    private readonly ResiliencePipeline _pipeline;

    /// <summary>Creates a decoder; checks that ffmpeg and ffprobe are installed.</summary>
    public ClipDecoder(DecodeOptions? options = null)
    {
        FfmpegTools.EnsureAvailable();
        Options = options ?? new DecodeOptions();
        // Retry outside, timeout inside: every attempt of every ffmpeg call gets its own time limit.
        var builder = new ResiliencePipelineBuilder();
        if (Options.Retries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = Options.Retries,
                Delay = TimeSpan.FromMilliseconds(100),
                ShouldHandle = new PredicateBuilder().Handle<DecodeException>(e => e.Transient).Handle<IOException>(),
            });
        }

        _pipeline = builder.AddTimeout(Options.Timeout).Build();
    }

    /// <summary>The settings.</summary>
    public DecodeOptions Options { get; }

    /// <summary>Decodes audio and frames; a missing stream of either kind is an error.</summary>
    public Task<DecodedClip> DecodeAsync(string path, FrameWindow window, CancellationToken cancellationToken = default) =>
        DecodeAsync(path, window, wantAudio: true, wantVideo: true, cancellationToken);

    /// <summary>Decodes what is asked for; a stream that is asked for and missing is an error.</summary>
    public async Task<DecodedClip> DecodeAsync(string path, FrameWindow window, bool wantAudio, bool wantVideo, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(path))
        {
            throw new DecodeException(DecodeFailure.MissingFile, path, "file not found");
        }

        float[]? audio = null;
        double duration;
        if (wantAudio)
        {
            // One ffmpeg call decodes the audio and reports the streams and the duration.
            (audio, duration) = await RunAsync(path, "ffmpeg (audio)", ct => DecodeAudioAsync(path, wantVideo, ct), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var info = await RunAsync(path, "ffprobe", ct => ProbeAsync(path, ct), cancellationToken).ConfigureAwait(false);
            if (wantVideo && info.PrimaryVideoStream is null)
            {
                throw new DecodeException(DecodeFailure.NoVideoStream, path, "the file has no video stream");
            }

            duration = info.Duration.TotalSeconds;
            CheckDuration(path, duration);
        }

        byte[]? frames = null;
        var start = 0.0;
        var count = 0;
        if (wantVideo)
        {
            start = window.Start(duration, Options.WindowSeconds);
            (frames, count) = await RunAsync(path, "ffmpeg (video)", ct => DecodeFramesAsync(path, start, window.IsWhole, ct), cancellationToken).ConfigureAwait(false);
        }

        return new DecodedClip(path, duration, audio, frames, count, Options.FrameSize, start, wantVideo && window.IsWhole);
    }

    private async Task<T> RunAsync<T>(string path, string what, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await _pipeline.ExecuteAsync(async ct => await call(ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException e)
        {
            throw new DecodeException(DecodeFailure.Timeout, path,
                $"{what} did not finish within {Options.Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s", inner: e);
        }
        catch (IOException e)
        {
            throw new DecodeException(DecodeFailure.Corrupt, path, $"{what}: {e.Message}", inner: e);
        }
    }

    private static async Task<IMediaAnalysis> ProbeAsync(string path, CancellationToken ct)
    {
        try
        {
            return await FFProbe.AnalyseAsync(path, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FFMpegException or FormatNullException or System.Text.Json.JsonException)
        {
            ct.ThrowIfCancellationRequested();
            throw new DecodeException(DecodeFailure.Corrupt, path, $"ffprobe cannot read it: {FirstLine(e.Message)}", inner: e);
        }
    }

    private async Task<(float[] Samples, double Duration)> DecodeAudioAsync(string path, bool wantVideo, CancellationToken ct)
    {
        using var pcm = new MemoryStream();
        var result = await FfmpegProcess.RunAsync(
            ["-t", Options.MaxAudioSeconds.ToString(CultureInfo.InvariantCulture), "-i", path,
             "-f", "f32le", "-ar", Options.SampleRate.ToString(CultureInfo.InvariantCulture), "-ac", "1", "-vn", "-sn", "-dn", "pipe:1"],
            pcm, ct).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        var info = FfmpegInputInfo.Parse(result.StandardError);
        if (!info.Found)
        {
            throw new DecodeException(DecodeFailure.Corrupt, path, $"ffmpeg cannot read it: {LastWords(result)}", transient: result.ExitCode > 128);
        }

        if (!info.HasAudio)
        {
            throw new DecodeException(DecodeFailure.NoAudioStream, path, "the file has no audio stream");
        }

        if (wantVideo && !info.HasVideo)
        {
            throw new DecodeException(DecodeFailure.NoVideoStream, path, "the file has no video stream");
        }

        Check(result, path, "audio");
        var samples = new float[pcm.Length / sizeof(float)];
        pcm.Position = 0;
        pcm.ReadExactly(MemoryMarshal.AsBytes(samples.AsSpan()));
        var duration = info.Duration ?? (samples.Length / (double)Options.SampleRate);
        CheckDuration(path, duration);

        // A truncated stream decodes "successfully" to far less audio than the container promises.
        var expected = Math.Min(duration, Options.MaxAudioSeconds) * Options.SampleRate;
        if (samples.Length < expected * 0.5)
        {
            throw new DecodeException(DecodeFailure.Corrupt, path,
                $"decoded {samples.Length / (double)Options.SampleRate:0.###} s of audio where the container promises {expected / Options.SampleRate:0.###} s");
        }

        return (samples, duration);
    }

    private void CheckDuration(string path, double duration)
    {
        if (duration < Options.MinSeconds)
        {
            throw new DecodeException(DecodeFailure.TooShort, path,
                $"{duration.ToString("0.###", CultureInfo.InvariantCulture)} s is shorter than the minimum {Options.MinSeconds.ToString(CultureInfo.InvariantCulture)} s");
        }
    }

    private async Task<(byte[] Frames, int Count)> DecodeFramesAsync(string path, double start, bool whole, CancellationToken ct)
    {
        var o = Options;
        var needed = ((o.Frames - 1) * o.FrameStride) + 1;
        using var raw = new MemoryStream();
        string[] limit = whole ? [] : ["-frames:v", needed.ToString(CultureInfo.InvariantCulture)];
        var result = await FfmpegProcess.RunAsync(
            ["-ss", start.ToString("0.###", CultureInfo.InvariantCulture), "-i", path,
             "-f", "rawvideo", "-an", "-sn", "-dn", "-pix_fmt", "rgb24",
             "-vf", $"fps={o.SampleFps},scale={o.FrameSize}:{o.FrameSize}:flags=bilinear", .. limit, "pipe:1"],
            raw, ct).ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        Check(result, path, "video");
        var frameBytes = o.FrameSize * o.FrameSize * 3;
        var available = (int)(raw.Length / frameBytes);
        if (available == 0)
        {
            throw new DecodeException(DecodeFailure.Corrupt, path, $"ffmpeg produced no video frame from {start:0.###} s on");
        }

        var all = raw.GetBuffer();
        if (whole)
        {
            return (all.AsSpan(0, available * frameBytes).ToArray(), available);
        }

        // Frames start, start + stride, ...; near the end of a clip the last decoded frame repeats.
        var frames = new byte[o.Frames * frameBytes];
        for (var i = 0; i < o.Frames; i++)
        {
            var src = Math.Min(i * o.FrameStride, available - 1);
            Buffer.BlockCopy(all, src * frameBytes, frames, i * frameBytes, frameBytes);
        }

        return (frames, o.Frames);
    }

    private static void Check(FfmpegRun result, string path, string what)
    {
        if (result.Success)
        {
            return;
        }

        // Exit codes above 128 are deaths by signal (a crash, the OOM killer): worth a retry.
        throw new DecodeException(DecodeFailure.Corrupt, path, $"ffmpeg could not decode the {what} (exit {result.ExitCode}): {LastWords(result)}", transient: result.ExitCode > 128);
    }

    private static string LastWords(FfmpegRun result) =>
        string.Join(" | ", result.StandardError.Where(l => !string.IsNullOrWhiteSpace(l)).TakeLast(2).Select(l => l.Trim()));

    private static string FirstLine(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? text;
}
