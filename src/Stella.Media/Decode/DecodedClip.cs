namespace Stella.Media.Decode;

/// <summary>A decoded clip.</summary>
/// <param name="Path">The file.</param>
/// <param name="Duration">Duration in seconds (ffprobe).</param>
/// <param name="Audio">Mono PCM at the decode sample rate, the first MaxAudioSeconds; null when audio was not asked for.</param>
/// <param name="Frames">RGB24 frames, uint8 [frames, size, size, 3]; null when the file has no video and video was not required.</param>
/// <param name="FrameCount">Number of frames in <paramref name="Frames"/>.</param>
/// <param name="FrameSize">Frame side in pixels.</param>
/// <param name="VideoStart">Start of the frame window in seconds.</param>
/// <param name="Whole">True when <paramref name="Frames"/> are every frame of the clip at the sample rate (<see cref="FrameWindow.Whole"/>),
/// not one window's.</param>
public sealed record DecodedClip(string Path, double Duration, float[]? Audio, byte[]? Frames, int FrameCount, int FrameSize, double VideoStart, bool Whole = false);
