using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using Stella.Pipeline.Telemetry;

namespace Stella.Cli;

/// <summary>
/// The live view of a stream-train job on a terminal (Spectre.Console): task, clips/s per stage, queue depths, loss, ETA, and the
/// last log lines under it. When the output is not a terminal (CI, a log file) the job's own log lines are printed as they come.
/// </summary>
internal sealed class StreamTrainDisplay
{
    private readonly Queue<string> _lines = new();
    private readonly object _gate = new();

    /// <summary>True when a live view can be drawn.</summary>
    public static bool Live => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Receives a log line.</summary>
    public void Log(string line)
    {
        var stamped = $"[{DateTime.Now:HH:mm:ss}] {line}";
        if (!Live)
        {
            Console.WriteLine(stamped);
            return;
        }

        lock (_gate)
        {
            _lines.Enqueue(stamped);
            while (_lines.Count > 8)
            {
                _lines.Dequeue();
            }
        }
    }

    /// <summary>Runs <paramref name="job"/>, drawing <paramref name="progress"/> twice a second on a terminal.</summary>
    public async Task RunAsync(StreamProgress progress, Func<Task> job)
    {
        if (!Live)
        {
            await job();
            return;
        }

        await AnsiConsole.Live(Render(progress.Snapshot())).AutoClear(false).StartAsync(async ctx =>
        {
            var running = job();
            while (await Task.WhenAny(running, Task.Delay(500)) != running)
            {
                ctx.UpdateTarget(Render(progress.Snapshot()));
            }

            ctx.UpdateTarget(Render(progress.Snapshot()));
            await running;
        });
    }

    private IRenderable Render(ProgressSnapshot p)
    {
        var table = new Table().Border(TableBorder.Rounded).HideHeaders().AddColumn("what").AddColumn("value");
        string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
        var share = p.ClipsTotal == 0 ? 0 : (double)p.ClipsDone / p.ClipsTotal;
        table.AddRow("phase", $"{p.Phase}, task {p.Task + 1}/{Math.Max(1, p.Tasks)}, step {p.Step}");
        table.AddRow("stream", $"{p.ClipsDone}/{p.ClipsTotal} clips ({share:P0}), {p.Quarantined} quarantined");
        table.AddRow("clips/s", $"decode {F(p.DecodedPerSecond, "0.0")}  train {F(p.TrainedPerSecond, "0.0")}");
        table.AddRow("queues", $"decode {p.DecodeQueue}  batch {p.BatchQueue}  train {p.TrainQueue}");
        table.AddRow("loss", double.IsFinite(p.Loss) ? F(p.Loss, "0.0000") : "-");
        table.AddRow("time", $"{p.Elapsed:h\\:mm\\:ss} elapsed, ETA {(p.Eta is { } eta ? eta.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : "?")}");
        string[] lines;
        lock (_gate)
        {
            lines = [.. _lines];
        }

        return new Rows(table, new Text(string.Join('\n', lines)));
    }
}
