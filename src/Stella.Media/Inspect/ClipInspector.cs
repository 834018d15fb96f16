using System.Globalization;
using Stella.Core.Arrays;
using Stella.Media.Decode;
using Stella.Media.Features;
using Stella.Media.Patches;

namespace Stella.Media.Inspect;

/// <summary>
/// Writes what the data path makes of one clip: <c>fbank.npy</c> (raw Kaldi fbank [frames, 128], before pad/cut and
/// normalization), <c>frames.npy</c> (uint8 [F, H, W, 3], the evaluation frames), <c>audio_patches.npy</c>,
/// <c>video_patches.npy</c> (float32 [tokens, values]) and <c>spectrogram.png</c> + <c>frames.png</c>.
/// A WAV (or any file without video) gives the audio files only.
/// </summary>
public sealed class ClipInspector(ClipDecoder decoder, AudioFeatures audio)
{
    /// <summary>Inspects <paramref name="clip"/> into <paramref name="outDir"/>; returns the files written.</summary>
    public async Task<IReadOnlyList<string>> InspectAsync(string clip, string outDir, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(outDir);
        var audioOnly = Path.GetExtension(clip).Equals(".wav", StringComparison.OrdinalIgnoreCase);
        var decoded = await decoder.DecodeAsync(clip, FrameWindow.Eval, wantAudio: true, wantVideo: !audioOnly, cancellationToken).ConfigureAwait(false);
        var written = new List<string>();
        string Out(string name)
        {
            var p = Path.Combine(outDir, name);
            written.Add(p);
            return p;
        }

        var raw = audio.RawFbank(decoded.Audio!, out var frames);
        var mel = audio.MelBins;
        Npy.Write(Out("fbank.npy"), raw, frames, mel);
        var input = audio.PadCutNormalize(raw, frames);
        var target = audio.Options.TargetFrames;
        var audioPatches = Patchify.Audio(input, target, mel);
        Npy.Write(Out("audio_patches.npy"), audioPatches, audioPatches.Length / (Patchify.DefaultPatch * Patchify.DefaultPatch), Patchify.DefaultPatch * Patchify.DefaultPatch);
        Pictures.Spectrogram(Out("spectrogram.png"), raw, frames, mel, 0.01,
            $"{Path.GetFileName(clip)}: Kaldi fbank, {frames} frames x {mel} mel ({decoded.Duration.ToString("0.##", CultureInfo.InvariantCulture)} s)");

        if (decoded.Frames is { } rgb)
        {
            var (count, size) = (decoded.FrameCount, decoded.FrameSize);
            Npy.Write(Out("frames.npy"), rgb, count, size, size, 3);
            var normalized = FrameFeatures.Normalize(rgb, count, size);
            var videoPatches = Patchify.Video(normalized, count, 3, size, size);
            var dim = 3 * Patchify.DefaultPatch * Patchify.DefaultPatch;
            Npy.Write(Out("video_patches.npy"), videoPatches, videoPatches.Length / dim, dim);
            var step = decoder.Options.FrameStride / (double)decoder.Options.SampleFps;
            var captions = Enumerable.Range(0, count)
                .Select(i => $"t = {(decoded.VideoStart + (i * step)).ToString("0.0", CultureInfo.InvariantCulture)} s").ToList();
            Pictures.FrameStrip(Out("frames.png"), rgb, count, size, captions);
        }

        return written;
    }
}
