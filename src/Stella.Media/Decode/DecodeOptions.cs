namespace Stella.Media.Decode;

/// <summary>How clips are decoded. Defaults follow the STELLA reference (16 kHz mono, first 10 s; 4 frames 1 s apart at 8 fps).</summary>
public sealed record DecodeOptions
{
    /// <summary>Audio sample rate in Hz. Default 16000.</summary>
    public int SampleRate { get; init; } = 16000;

    /// <summary>Audio decoded from the start of the clip, in seconds. Default 10.</summary>
    public double MaxAudioSeconds { get; init; } = 10;

    /// <summary>Side of the (square) frames after resizing. Default 128 (the tiny preset); the base model uses 224.</summary>
    public int FrameSize { get; init; } = 128;

    /// <summary>Frames sampled per clip. Default 4.</summary>
    public int Frames { get; init; } = 4;

    /// <summary>Frame rate the frames are sampled at (the reference's extracted frames). Default 8.</summary>
    public int SampleFps { get; init; } = 8;

    /// <summary>Distance between sampled frames, in frames at <see cref="SampleFps"/>. Default 8 (one second).</summary>
    public int FrameStride { get; init; } = 8;

    /// <summary>Shortest accepted clip in seconds. Default 4 (the video window).</summary>
    public double MinSeconds { get; init; } = 4;

    /// <summary>Time limit of each ffprobe/ffmpeg call. Default 30 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Retries of a transient failure (a crashed process, an I/O error); 0 disables retrying. Default 2.</summary>
    public int Retries { get; init; } = 2;

    /// <summary>Length of the video window in seconds: (Frames - 1) * FrameStride / SampleFps, plus one frame.</summary>
    public double WindowSeconds => (((Frames - 1) * FrameStride) + 1) / (double)SampleFps;
}
