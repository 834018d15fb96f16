using System.Text;

namespace Stella.Pipeline;

/// <summary>The clips a run could not use, with their reasons; written to quarantine.csv (appended, so a resumed run keeps them).</summary>
public sealed class Quarantine
{
    private readonly string _path;
    private readonly Lock _gate = new();

    /// <summary>Opens (or creates) <paramref name="path"/>.</summary>
    public Quarantine(string path)
    {
        _path = path;
        if (!File.Exists(path))
        {
            File.WriteAllText(path, "clip_id,path,task,row,reason,detail\n");
        }

        Count = File.ReadLines(path).Count() - 1;
    }

    /// <summary>Clips quarantined so far (this run and the runs it resumes).</summary>
    public int Count { get; private set; }

    /// <summary>Records a failed clip.</summary>
    public void Add(ClipOutcome outcome)
    {
        var c = outcome.Clip;
        var line = new StringBuilder()
            .Append(Quote(c.ClipId)).Append(',').Append(Quote(c.RelativePath)).Append(',').Append(c.Task).Append(',').Append(c.Row).Append(',')
            .Append(outcome.Failure).Append(',').Append(Quote(outcome.Detail ?? string.Empty)).Append('\n').ToString();
        lock (_gate)
        {
            File.AppendAllText(_path, line);
            Count++;
        }
    }

    private static string Quote(string s) => $"\"{s.Replace("\"", "\"\"", StringComparison.Ordinal).Replace('\n', ' ')}\"";
}
