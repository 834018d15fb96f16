namespace Stella.Media.Decode;

/// <summary>Why a clip could not be decoded; written to the quarantine with the clip's path.</summary>
public enum DecodeFailure
{
    /// <summary>The file does not exist.</summary>
    MissingFile,

    /// <summary>The file has no audio stream.</summary>
    NoAudioStream,

    /// <summary>The file has no video stream.</summary>
    NoVideoStream,

    /// <summary>The clip is shorter than the minimum duration.</summary>
    TooShort,

    /// <summary>ffprobe/ffmpeg could not read the file (truncated, garbage, broken stream).</summary>
    Corrupt,

    /// <summary>ffprobe/ffmpeg did not finish within the time limit.</summary>
    Timeout,
}
