using System.Net.Sockets;
using Stella.Media.Ffmpeg;

namespace Stella.Media.Tests;

public sealed class StalePipeSocketsTests
{
    private static string ShortTempDir()
    {
        // A Unix socket path holds at most 107 bytes: a short folder.
        var dir = Path.Combine(Path.GetTempPath(), "sp-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static Socket Listen(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        socket.Listen(1);
        return socket;
    }

    [Fact]
    public void Remove_DeletesASocketNoProcessIsBoundTo_AndKeepsALiveOne()
    {
        var dir = ShortTempDir();
        var live = Path.Combine(dir, StalePipeSockets.Prefix + "live");
        var stale = Path.Combine(dir, StalePipeSockets.Prefix + "stale");
        var other = Path.Combine(dir, "CoreFxPipe_other");
        using var listening = Listen(live);
        // A stale socket file, as a killed process leaves it: bound once, the binder gone. (Socket.Dispose unlinks the path it
        // bound, so the file is moved away from it first.)
        using (var dead = Listen(Path.Combine(dir, "bound")))
        {
            File.Move(Path.Combine(dir, "bound"), stale);
        }

        using var unrelated = Listen(other);
        Assert.True(File.Exists(stale));

        var removed = StalePipeSockets.Remove(dir, TimeSpan.Zero);

        Assert.Equal([stale], removed);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(other));
    }

    [Fact]
    public void Remove_KeepsAStaleSocketYoungerThanTheMargin()
    {
        var dir = ShortTempDir();
        var stale = Path.Combine(dir, StalePipeSockets.Prefix + "young");
        using (var dead = Listen(Path.Combine(dir, "bound")))
        {
            File.Move(Path.Combine(dir, "bound"), stale);
        }

        Assert.Empty(StalePipeSockets.Remove(dir, TimeSpan.FromHours(1)));
        Assert.True(File.Exists(stale));
    }

    [Fact]
    public void BoundPaths_ReadsPathsWithSpaces_AndSkipsUnnamedAndAbstractSockets()
    {
        string[] table =
        [
            "Num       RefCount Protocol Flags    Type St Inode Path",
            "0000000000000000: 00000002 00000000 00010000 0001 01 21563 /tmp/CoreFxPipe_FFMpegCore_a",
            "0000000000000000: 00000002 00000000 00010000 0001 01 21564 /tmp/a folder/CoreFxPipe_FFMpegCore_b",
            "0000000000000000: 00000003 00000000 00000000 0001 03 21565",
            "0000000000000000: 00000002 00000000 00010000 0001 01 21566 @/tmp/.X11-unix/X0",
        ];

        Assert.Equal(["/tmp/CoreFxPipe_FFMpegCore_a", "/tmp/a folder/CoreFxPipe_FFMpegCore_b"], StalePipeSockets.BoundPaths(table).Order());
    }
}
