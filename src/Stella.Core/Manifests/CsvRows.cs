using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;

namespace Stella.Core.Manifests;

/// <summary>Reads CSV rows with their 1-based line numbers (CsvHelper handles quoting and comments).</summary>
internal static class CsvRows
{
    public static IEnumerable<(int Row, string[] Fields)> Read(string path, bool comments = false)
    {
        if (!File.Exists(path))
        {
            throw new ManifestException(path, 0, "file not found");
        }

        var config = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            HasHeaderRecord = false,
            AllowComments = comments,
            Comment = '#',
            TrimOptions = TrimOptions.Trim,
            IgnoreBlankLines = true,
            BadDataFound = null,
            Mode = CsvMode.RFC4180,
        };
        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, config);
        while (true)
        {
            bool more;
            try
            {
                more = csv.Read();
            }
            catch (CsvHelperException e)
            {
                throw new ManifestException(path, csv.Parser.RawRow, $"unreadable CSV: {e.Message.Split('\n')[0]}", e);
            }

            if (!more)
            {
                yield break;
            }

            var fields = csv.Parser.Record ?? [];
            if (fields.Length == 1 && string.IsNullOrWhiteSpace(fields[0]))
            {
                continue;
            }

            yield return (csv.Parser.RawRow, fields);
        }
    }

    public static double ParseSeconds(string text, string path, int row, string column) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0 && double.IsFinite(v)
            ? v
            : throw new ManifestException(path, row, $"column '{column}' must be a non-negative number of seconds, got '{text}'");
}
