using Stella.Core.Manifests;
using Stella.Media.Decode;
using Stella.Media.Ffmpeg;

namespace Stella.Cli;

/// <summary>Turns the errors a user can cause into one clear line on stderr and exit code 2; anything else is a bug and keeps its stack.</summary>
internal static class CliErrors
{
    public static async Task<int> RunAsync(Func<Task<int>> run)
    {
        try
        {
            return await run();
        }
        catch (Exception e) when (e is ManifestException or Stella.Continual.Memory.MemoryFileException or InvalidOperationException or DecodeException or FfmpegMissingException or ArgumentException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("cancelled");
            return 130;
        }
    }
}
