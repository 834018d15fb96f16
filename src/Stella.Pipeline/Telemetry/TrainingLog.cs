using System.Text.Json;
using TorchSharp.Modules;
using static TorchSharp.torch.utils.tensorboard;

namespace Stella.Pipeline.Telemetry;

/// <summary>
/// The run's scalar log, written twice: <c>metrics.jsonl</c> (one JSON object per line, for scripts) and TensorBoard event files
/// under <c>tensorboard/</c> (TorchSharp's SummaryWriter), the viewer researchers already use: <c>tensorboard --logdir runs/</c>.
/// </summary>
public sealed class TrainingLog
{
    private readonly string _jsonl;
    private readonly SummaryWriter _board;
    private readonly object _gate = new();

    /// <summary>Opens (appends to) the logs of the run in <paramref name="outDir"/>.</summary>
    public TrainingLog(string outDir)
    {
        _jsonl = Path.Combine(outDir, "metrics.jsonl");
        BoardDir = Path.Combine(outDir, "tensorboard");
        Directory.CreateDirectory(BoardDir);
        _board = SummaryWriter(BoardDir, createRunName: false);
    }

    /// <summary>The TensorBoard event folder.</summary>
    public string BoardDir { get; }

    /// <summary>Writes one record to metrics.jsonl and its numeric fields as TensorBoard scalars under <paramref name="group"/>.</summary>
    public void Write(string group, long step, IReadOnlyDictionary<string, double?> values)
    {
        var record = new Dictionary<string, object?> { ["kind"] = group, ["step"] = step };
        foreach (var (key, value) in values)
        {
            record[key] = value is { } v && double.IsFinite(v) ? Math.Round(v, 6) : null;
        }

        lock (_gate)
        {
            File.AppendAllText(_jsonl, JsonSerializer.Serialize(record) + "\n");
            foreach (var (key, value) in values)
            {
                if (value is { } v && double.IsFinite(v))
                {
                    _board.add_scalar($"{group}/{key}", (float)v, (int)step);
                }
            }
        }
    }

    /// <summary>Adds a PNG file as a TensorBoard image.</summary>
    public void Image(string tag, string pngPath, long step)
    {
        lock (_gate)
        {
            _board.add_img(tag, pngPath, (int)step);
        }
    }
}
