namespace Stella.Core.Manifests;

/// <summary>Reads VGGSound's class file with categories (<c>stat.csv</c>: label, num_samples, category), in class-index order.</summary>
public static class VggSoundClassFile
{
    /// <summary>Reads the classes; an optional header row is skipped.</summary>
    public static IReadOnlyList<(string Label, string Category)> Read(string path)
    {
        var classes = new List<(string, string)>();
        foreach (var (row, f) in CsvRows.Read(path))
        {
            if (f.Length != 3)
            {
                throw new ManifestException(path, row, $"expected 3 columns (label, num_samples, category), got {f.Length}");
            }

            if (!int.TryParse(f[1], out _))
            {
                if (classes.Count == 0 && row == 1)
                {
                    continue;
                }

                throw new ManifestException(path, row, $"num_samples '{f[1]}' is not a whole number");
            }

            classes.Add((f[0], f[2].ToLowerInvariant()));
        }

        return classes.Count > 0 ? classes : throw new ManifestException(path, 0, "no classes listed");
    }
}
