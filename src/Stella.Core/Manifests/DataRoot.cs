namespace Stella.Core.Manifests;

/// <summary>The folder that holds the clips; every manifest path is resolved under it and may not leave it.</summary>
public sealed class DataRoot
{
    private readonly string _root;

    /// <summary>Creates a data root at <paramref name="path"/> (made absolute).</summary>
    public DataRoot(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
    }

    /// <summary>The absolute root folder.</summary>
    public string FullPath => _root;

    /// <summary>
    /// Resolves <paramref name="relativePath"/> under the root. Absolute paths, <c>..</c> segments that climb out,
    /// and symbolic links that point outside the root are refused with <see cref="ManifestException"/>.
    /// </summary>
    public string Resolve(string relativePath, string manifestFile = "manifest", int row = 0)
    {
        if (string.IsNullOrWhiteSpace(relativePath))
        {
            throw new ManifestException(manifestFile, row, "empty clip path");
        }

        if (Path.IsPathRooted(relativePath))
        {
            throw new ManifestException(manifestFile, row,
                $"clip path '{relativePath}' is absolute; manifest paths must be relative to the data root '{_root}'");
        }

        var full = Path.GetFullPath(Path.Combine(_root, relativePath));
        if (!IsUnderRoot(full))
        {
            throw new ManifestException(manifestFile, row,
                $"clip path '{relativePath}' escapes the data root '{_root}'");
        }

        var info = new FileInfo(full);
        if (info.LinkTarget is not null)
        {
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            if (target is not null && !IsUnderRoot(Path.GetFullPath(target.FullName)))
            {
                throw new ManifestException(manifestFile, row,
                    $"clip path '{relativePath}' is a link to '{target.FullName}', outside the data root '{_root}'");
            }
        }

        return full;
    }

    private bool IsUnderRoot(string full) =>
        full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal);
}
