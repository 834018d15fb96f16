using FFMpegCore.Pipes;

namespace Stella.Media.Ffmpeg;

/// <summary>A packed RGB24 frame handed to ffmpeg through a pipe.</summary>
public sealed class RgbFrame : IVideoFrame
{
    private readonly byte[] _data;

    /// <summary>Wraps <paramref name="data"/> (width * height * 3 bytes).</summary>
    public RgbFrame(byte[] data, int width, int height)
    {
        if (data.Length != width * height * 3)
        {
            throw new ArgumentException($"an RGB24 frame of {width}x{height} needs {width * height * 3} bytes, got {data.Length}");
        }

        _data = data;
        Width = width;
        Height = height;
    }

    /// <inheritdoc />
    public int Width { get; }

    /// <inheritdoc />
    public int Height { get; }

    /// <inheritdoc />
    public string PixelFormat => "rgb24";

    /// <inheritdoc />
    public void Serialize(Stream pipe) => pipe.Write(_data);

    /// <inheritdoc />
    public Task SerializeAsync(Stream pipe, CancellationToken token) => pipe.WriteAsync(_data, token).AsTask();
}
