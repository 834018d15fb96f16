using FFMpegCore;

namespace Stella.Media.Ffmpeg;

/// <summary>Finds the ffmpeg and ffprobe binaries and says what to do when they are missing.</summary>
public static class FfmpegTools
{
    private static bool _checked;
    private static readonly Dictionary<string, string> Paths = [];

    /// <summary>Throws <see cref="FfmpegMissingException"/> unless both ffmpeg and ffprobe are on PATH (or in FFMPEG_DIR).</summary>
    public static void EnsureAvailable()
    {
        if (_checked)
        {
            return;
        }

        var dir = Environment.GetEnvironmentVariable("FFMPEG_DIR");
        if (!string.IsNullOrEmpty(dir))
        {
            GlobalFFOptions.Configure(o => o.BinaryFolder = dir);
        }

        foreach (var tool in new[] { "ffmpeg", "ffprobe" })
        {
            Paths[tool] = Find(tool, dir) ?? throw new FfmpegMissingException(tool);
        }

        // Once per process, before this process makes pipes of its own: the sockets of killed runs go.
        StalePipeSockets.RemoveOnce();
        _checked = true;
    }

    /// <summary>The path of <paramref name="tool"/> ("ffmpeg" or "ffprobe"): FFMPEG_DIR first, then PATH.</summary>
    public static string Binary(string tool)
    {
        EnsureAvailable();
        return Paths[tool];
    }

    /// <summary>The first line of <c>ffmpeg -version</c> (asked once a process): another build may decode a clip differently.</summary>
    public static string Version => LazyVersion.Value;

    private static readonly Lazy<string> LazyVersion = new(() =>
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(Binary("ffmpeg"), ["-nostdin", "-version"]) { RedirectStandardOutput = true, UseShellExecute = false })!;
        var first = p.StandardOutput.ReadLine() ?? string.Empty;
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return first.Trim();
    });

    private static string? Find(string tool, string? dir)
    {
        var paths = (dir is null ? [] : new[] { dir })
            .Concat((Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries));
        return paths.Select(p => Path.Combine(p, tool)).FirstOrDefault(File.Exists);
    }
}
