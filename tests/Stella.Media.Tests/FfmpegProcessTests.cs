using System.Diagnostics;
using Stella.Media.Ffmpeg;

namespace Stella.Media.Tests;

public sealed class FfmpegProcessTests
{
    /// <summary>A destination that takes its time over every write, as a consumer on a loaded machine does.</summary>
    private sealed class SlowStream(int millisecondsPerWrite) : MemoryStream
    {
        public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            await Task.Delay(millisecondsPerWrite, CancellationToken.None);
            await base.WriteAsync(buffer, offset, count, cancellationToken);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(millisecondsPerWrite, CancellationToken.None);
            await base.WriteAsync(buffer, cancellationToken);
        }
    }

    private static string[] RawFrames(string path) => ["-i", path, "-f", "rawvideo", "-an", "-pix_fmt", "rgb24", "-vf", "scale=128:128", "pipe:1"];

    [Fact]
    public async Task RunAsync_ASlowReader_GetsEveryByteFfmpegWrote()
    {
        // FFMpegCore's pipe reader, cancelled when ffmpeg exits, returned 1,949,696 of these 1,966,080 bytes with exit code 0.
        var path = await TestMedia.Mp4Async(TestMedia.TempDir(), "slow.mp4", 5, size: 64, fps: 8);
        var file = Path.Combine(TestMedia.TempDir(), "frames.rgb");
        using (var p = Process.Start(new ProcessStartInfo(FfmpegTools.Binary("ffmpeg"), ["-nostdin", "-v", "error", .. RawFrames(path)[..^1], file]) { RedirectStandardError = true })!)
        {
            await p.WaitForExitAsync();
            Assert.Equal(0, p.ExitCode);
        }

        var expected = await File.ReadAllBytesAsync(file);
        using var slow = new SlowStream(50);
        var run = await FfmpegProcess.RunAsync(RawFrames(path), slow, CancellationToken.None);

        Assert.True(run.Success, string.Join("\n", run.StandardError));
        Assert.Equal(40 * 128 * 128 * 3, expected.Length);
        Assert.Equal(expected, slow.ToArray());
        Assert.Contains(run.StandardError, l => l.StartsWith("Input #0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_Cancelled_KillsFfmpegAndThrows()
    {
        var path = await TestMedia.Mp4Async(TestMedia.TempDir(), "cancel.mp4", 5);
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        using var slow = new SlowStream(200);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => FfmpegProcess.RunAsync(RawFrames(path), slow, stop.Token));
        // 30 writes of 64 KiB at 200 ms each would take 6 s: the kill ended it at the first write after the cancellation.
        Assert.True(slow.Length < 40 * 128 * 128 * 3, $"{slow.Length} bytes: the run was not stopped");
    }

    [Fact]
    public async Task RunAsync_UnreadableInput_IsAFailedRunWithFfmpegsWords()
    {
        var path = Path.Combine(TestMedia.TempDir(), "text.mp4");
        await File.WriteAllTextAsync(path, "not a video");
        using var output = new MemoryStream();
        var run = await FfmpegProcess.RunAsync(RawFrames(path), output, CancellationToken.None);
        Assert.False(run.Success);
        Assert.Equal(0, output.Length);
        Assert.Contains(run.StandardError, l => l.Contains("Invalid data found when processing input", StringComparison.Ordinal));
    }
}
