namespace Stella.Pipeline.Shards;

/// <summary>What every row of a patch shard says of its clip and window, whatever the row stores of the clip's inputs.</summary>
public abstract class ShardRow
{
    /// <summary>Clip id (unique within the manifest).</summary>
    public string ClipId { get; set; } = string.Empty;

    /// <summary>Task index.</summary>
    public int Task { get; set; }

    /// <summary>Class label.</summary>
    public string Label { get; set; } = string.Empty;

    /// <summary>Split: Train, Retrieval or Test.</summary>
    public string Split { get; set; } = string.Empty;

    /// <summary>Frame window: "train" (seeded random start) or "eval" (centred).</summary>
    public string Window { get; set; } = string.Empty;

    /// <summary>Position of the clip in its task's training list (the window seed's input); -1 for eval windows.</summary>
    public int Index { get; set; }

    /// <summary>The clip's row in the source manifest.</summary>
    public int Row { get; set; }

    /// <summary>Start of the frame window (s).</summary>
    public double VideoStart { get; set; }

    /// <summary>The built-in benchmark's ground truth of the clip (JSON, as in ground_truth.jsonl), empty for real data.</summary>
    public string GroundTruth { get; set; } = string.Empty;
}
