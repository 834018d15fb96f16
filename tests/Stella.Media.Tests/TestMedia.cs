using Stella.Media.Ffmpeg;

namespace Stella.Media.Tests;

/// <summary>Small media files made on the fly for decoder tests.</summary>
internal static class TestMedia
{
    public static string TempDir()
    {
        return Stella.Tests.Shared.TestTemp.Dir();
    }

    /// <summary>An MP4 of <paramref name="seconds"/> s: frame i is a flat grey of level 10 * i; audio a 440 Hz tone.</summary>
    public static async Task<string> Mp4Async(string dir, string name, double seconds, bool audio = true, int size = 64, int fps = 8)
    {
        var count = (int)Math.Round(seconds * fps);
        var frames = Enumerable.Range(0, count).Select(i => Enumerable.Repeat((byte)Math.Min(250, 10 * (i / fps) + 20), size * size * 3).ToArray()).ToList();
        var pcm = audio ? Tone(seconds) : null;
        var path = Path.Combine(dir, name);
        await Mp4Encoder.EncodeAsync(path, frames, size, size, fps, pcm, 16000);
        return path;
    }

    public static float[] Tone(double seconds, double hz = 440) =>
        Enumerable.Range(0, (int)(seconds * 16000)).Select(i => (float)(0.4 * Math.Sin(2 * Math.PI * hz * i / 16000.0))).ToArray();
}
