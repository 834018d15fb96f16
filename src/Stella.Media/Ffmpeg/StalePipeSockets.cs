namespace Stella.Media.Ffmpeg;

/// <summary>
/// Removes the pipe sockets killed processes left behind. FFMpegCore streams to and from ffmpeg through System.IO.Pipes; on Unix
/// each pipe server is a Unix domain socket file <c>CoreFxPipe_FFMpegCore_&lt;guid&gt;</c> in the temp folder, unlinked when the
/// stream is disposed, so a SIGKILLed process leaves its open ones behind for good. Which files are stale is read from the
/// kernel's table of bound Unix sockets (<c>/proc/net/unix</c>): a file no socket is bound to any more belongs to a dead process.
/// Connecting to each socket to see whether it refuses would not do: a live server would accept the probe in place of ffmpeg.
/// Hand-written because FFMpegCore offers no hook for where its pipes live and nothing in .NET lists bound sockets.
/// </summary>
public static class StalePipeSockets
{
    /// <summary>The name prefix of FFMpegCore's pipe sockets (System.IO.Pipes' "CoreFxPipe_" + FFMpegCore's pipe names).</summary>
    public const string Prefix = "CoreFxPipe_FFMpegCore_";

    /// <summary>The kernel's table of Unix sockets (Linux).</summary>
    public const string SocketTable = "/proc/net/unix";

    private static int _done;

    /// <summary>Runs <see cref="Remove"/> on the temp folder once per process; never throws.</summary>
    public static void RemoveOnce()
    {
        if (Interlocked.Exchange(ref _done, 1) == 0)
        {
            Remove(Path.GetTempPath(), TimeSpan.FromMinutes(1));
        }
    }

    /// <summary>
    /// Deletes the FFMpegCore pipe sockets in <paramref name="folder"/> that no socket is bound to and that are at least
    /// <paramref name="minAge"/> old (a margin for processes in another network namespace sharing the folder, whose sockets
    /// this table does not show); returns the paths deleted. Does nothing where the table is missing (not Linux).
    /// </summary>
    public static IReadOnlyList<string> Remove(string folder, TimeSpan minAge, string socketTable = SocketTable)
    {
        try
        {
            if (!File.Exists(socketTable) || !Directory.Exists(folder))
            {
                return [];
            }

            // Listed before the table is read: a socket bound after the listing is no candidate, one bound before is in the table.
            var candidates = Directory.GetFiles(folder, Prefix + "*");
            if (candidates.Length == 0)
            {
                return [];
            }

            var bound = BoundPaths(File.ReadLines(socketTable));
            var removed = new List<string>();
            foreach (var path in candidates.Where(p => !bound.Contains(p) && DateTime.UtcNow - File.GetLastWriteTimeUtc(p) >= minAge))
            {
                try
                {
                    File.Delete(path);
                    removed.Add(path);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Another user's socket, or gone meanwhile: not ours to clean.
                }
            }

            return removed;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>
    /// The paths of the bound sockets in <c>/proc/net/unix</c> lines ("Num RefCount Protocol Flags Type St Inode Path"; the path,
    /// which may hold spaces, is the rest of the line after the seventh field; unnamed and abstract sockets are left out).
    /// </summary>
    public static HashSet<string> BoundPaths(IEnumerable<string> table)
    {
        var paths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in table.Skip(1))
        {
            var rest = line.AsSpan().TrimStart();
            for (var field = 0; field < 7 && !rest.IsEmpty; field++)
            {
                var end = rest.IndexOf(' ');
                rest = end < 0 ? [] : rest[end..].TrimStart();
            }

            if (rest.Length > 0 && rest[0] == '/')
            {
                paths.Add(rest.ToString());
            }
        }

        return paths;
    }
}
