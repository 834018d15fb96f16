using System.Globalization;
using System.Text.RegularExpressions;

namespace Stella.Media.Decode;

/// <summary>
/// What ffmpeg reports about its input on stderr ("Input #0 ... Duration: ... Stream #0:0: Video: ..."). Reading it from the
/// decoding call itself saves a separate ffprobe process per clip: process start-up is most of the cost of a short clip.
/// </summary>
/// <param name="Found">False when ffmpeg could not open the input (no "Input #0" section).</param>
/// <param name="Duration">Container duration in seconds, or null when ffmpeg reports N/A.</param>
/// <param name="HasAudio">The input has an audio stream.</param>
/// <param name="HasVideo">The input has a video stream (cover art, an attached picture, does not count).</param>
public sealed partial record FfmpegInputInfo(bool Found, double? Duration, bool HasAudio, bool HasVideo)
{
    /// <summary>Parses ffmpeg's stderr lines; only the section of input #0 is read.</summary>
    public static FfmpegInputInfo Parse(IEnumerable<string> stderr)
    {
        bool found = false, audio = false, video = false;
        double? duration = null;
        foreach (var line in stderr)
        {
            if (line.StartsWith("Input #0", StringComparison.Ordinal))
            {
                found = true;
                continue;
            }

            if (!found)
            {
                continue;
            }

            if (!line.StartsWith(' '))
            {
                break;
            }

            var d = DurationRegex().Match(line);
            if (d.Success)
            {
                duration = (int.Parse(d.Groups[1].Value, CultureInfo.InvariantCulture) * 3600)
                    + (int.Parse(d.Groups[2].Value, CultureInfo.InvariantCulture) * 60)
                    + double.Parse(d.Groups[3].Value, CultureInfo.InvariantCulture);
            }

            var s = StreamRegex().Match(line);
            if (s.Success)
            {
                audio |= s.Groups[1].Value == "Audio";
                video |= s.Groups[1].Value == "Video" && !line.Contains("(attached pic)", StringComparison.Ordinal);
            }
        }

        return new FfmpegInputInfo(found, duration, audio, video);
    }

    [GeneratedRegex(@"^\s+Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")]
    private static partial Regex DurationRegex();

    [GeneratedRegex(@"^\s+Stream #0:\d+\S*: (Audio|Video|Data|Subtitle|Attachment):")]
    private static partial Regex StreamRegex();
}
