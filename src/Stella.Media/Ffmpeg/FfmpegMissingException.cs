namespace Stella.Media.Ffmpeg;

/// <summary>ffmpeg or ffprobe is not installed; the message says how to install it.</summary>
public sealed class FfmpegMissingException(string tool)
    : Stella.Core.UserInputException($"'{tool}' was not found on PATH (or in FFMPEG_DIR). Install Debian's ffmpeg: 'sudo apt-get install ffmpeg' " +
                "(the Makefile does this for you: 'make build'), or set FFMPEG_DIR to the folder that holds ffmpeg and ffprobe.")
{
    /// <summary>The missing program.</summary>
    public string Tool { get; } = tool;
}
