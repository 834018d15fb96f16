using System.Text;

namespace Stella.Pipeline;

/// <summary>The clips a run could not use, with their reasons; written to quarantine.csv (appended, so a resumed run keeps them).</summary>
public sealed class Quarantine
{
    /// <summary>The header of quarantine.csv.</summary>
    public const string Header = "clip_id,path,task,row,stage,reason,detail\n";

    private readonly string _path;
    private readonly Lock _gate = new();
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);

    /// <summary>Opens (or creates) <paramref name="path"/>.</summary>
    public Quarantine(string path)
    {
        _path = path;
        if (!File.Exists(path))
        {
            File.WriteAllText(path, Header);
        }

        // A resumed run meets the clips it quarantined before again: keep them once.
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            _ids.Add(line[1..line.IndexOf("\",", StringComparison.Ordinal)].Replace("\"\"", "\"", StringComparison.Ordinal));
        }

        Count = _ids.Count;
    }

    /// <summary>Clips quarantined so far (this run and the runs it resumes).</summary>
    public int Count { get; private set; }

    /// <summary>Records a failed clip (once per clip); true when it was not on record yet.</summary>
    public bool Add(ClipOutcome outcome)
    {
        var c = outcome.Clip;
        var line = new StringBuilder()
            .Append(Quote(c.ClipId)).Append(',').Append(Quote(c.RelativePath)).Append(',').Append(c.Task).Append(',').Append(c.Row).Append(',')
            .Append(outcome.Stage ?? string.Empty).Append(',').Append(outcome.Failure).Append(',').Append(Quote(outcome.Detail ?? string.Empty)).Append('\n').ToString();
        lock (_gate)
        {
            if (!_ids.Add(c.ClipId))
            {
                return false;
            }

            File.AppendAllText(_path, line);
            Count++;
            return true;
        }
    }

    private static string Quote(string s) => $"\"{s.Replace("\"", "\"\"", StringComparison.Ordinal).Replace('\n', ' ')}\"";
}
