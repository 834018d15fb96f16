namespace Stella.Core.Manifests;

/// <summary>A manifest, task split or ontology file that cannot be used; the message names the file and row.</summary>
public sealed class ManifestException : UserInputException
{
    /// <summary>Creates the exception for <paramref name="file"/> at <paramref name="row"/> (0 when not row-specific).</summary>
    public ManifestException(string file, int row, string problem, Exception? inner = null)
        : base(row > 0 ? $"{file}:{row}: {problem}" : $"{file}: {problem}", inner)
    {
        File = file;
        Row = row;
        Problem = problem;
    }

    /// <summary>The file that holds the problem.</summary>
    public string File { get; }

    /// <summary>1-based row (0 when the problem is not tied to one row).</summary>
    public int Row { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; }
}
