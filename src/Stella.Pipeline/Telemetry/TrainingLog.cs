using System.Text.Json;
using System.Threading.Channels;
using TorchSharp.Modules;
using static TorchSharp.torch.utils.tensorboard;

namespace Stella.Pipeline.Telemetry;

/// <summary>
/// The run's scalar log, written twice: <c>metrics.jsonl</c> (one JSON object per line, for scripts) and TensorBoard event files
/// under <c>tensorboard/</c> (TorchSharp's SummaryWriter), the viewer researchers already use: <c>tensorboard --logdir runs/</c>.
/// Records go through a channel to one writer task, so the training stages never wait for the disk; disposing drains it.
/// </summary>
public sealed class TrainingLog : IAsyncDisposable
{
    private readonly string _jsonl;
    private readonly SummaryWriter _board;
    private readonly Channel<Action> _queue = Channel.CreateUnbounded<Action>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    /// <summary>Opens (appends to) the logs of the run in <paramref name="outDir"/>.</summary>
    public TrainingLog(string outDir)
    {
        _jsonl = Path.Combine(outDir, "metrics.jsonl");
        BoardDir = Path.Combine(outDir, "tensorboard");
        Directory.CreateDirectory(BoardDir);
        _board = SummaryWriter(BoardDir, createRunName: false);
        _writer = Task.Run(async () =>
        {
            await foreach (var write in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                write();
            }
        });
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

        var line = JsonSerializer.Serialize(record) + "\n";
        var scalars = values.Where(kv => kv.Value is { } v && double.IsFinite(v)).Select(kv => (kv.Key, (float)kv.Value!.Value)).ToList();
        Enqueue(() =>
        {
            File.AppendAllText(_jsonl, line);
            foreach (var (key, value) in scalars)
            {
                _board.add_scalar($"{group}/{key}", value, (int)step);
            }
        });
    }

    /// <summary>Adds a PNG file as a TensorBoard image.</summary>
    public void Image(string tag, string pngPath, long step) => Enqueue(() => _board.add_img(tag, pngPath, (int)step));

    /// <summary>Writes everything queued.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    private void Enqueue(Action write)
    {
        if (!_queue.Writer.TryWrite(write))
        {
            throw new InvalidOperationException("the training log is closed");
        }
    }
}
