using System.Text;

namespace Stella.Core.Manifests;

/// <summary>Writes this project's manifest format (<c>clip_id,path,label,task,split</c>, and <c>audio</c> when the clips are in
/// the authors' frames-and-audio layout), quoting where CSV needs it; warm-up (<c>base</c>) rows have the task "-".</summary>
public static class StellaManifestWriter
{
    /// <summary>Writes <paramref name="clips"/> (task-ordered) to <paramref name="path"/>.</summary>
    public static void Write(string path, IEnumerable<ClipRecord> clips)
    {
        var list = clips.ToList();
        var audio = list.Count > 0 && list.All(c => c.AudioPath is not null);
        if (!audio && list.Any(c => c.AudioPath is not null))
        {
            throw new ArgumentException("either every clip has an audio path (the frames-and-audio layout) or none has", nameof(clips));
        }

        var sb = new StringBuilder(audio ? "clip_id,path,label,task,split,audio\n" : "clip_id,path,label,task,split\n");
        foreach (var c in list)
        {
            var split = c.Split switch { ClipSplit.Train => "train", ClipSplit.Retrieval => "retrieval", ClipSplit.Base => "base", _ => "test" };
            sb.Append(Quote(c.ClipId)).Append(',').Append(Quote(c.RelativePath)).Append(',').Append(Quote(c.Label))
                .Append(',').Append(c.Split == ClipSplit.Base ? "-" : c.Task.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(',').Append(split).Append(audio ? "," + Quote(c.AudioPath!) : string.Empty).Append('\n');
        }

        File.WriteAllText(path, sb.ToString());
    }

    private static string Quote(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? $"\"{field.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : field;
}
