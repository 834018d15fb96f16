using Spectre.Console;

namespace Stella.Cli;

/// <summary>A progress bar on a terminal; plain log lines (every 10%) when the output is redirected, as in CI.</summary>
internal static class ProgressDisplay
{
    public static async Task RunAsync(string what, int total, Func<IProgress<int>, Task> work)
    {
        if (StreamTrainDisplay.Live)
        {
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask(what, maxValue: total);
                    await work(new Progress<int>(done => task.Value = done));
                });
            return;
        }

        var lastDecile = -1;
        var gate = new object();
        Console.WriteLine($"{what}...");
        await work(new SyncProgress(done =>
        {
            lock (gate)
            {
                var decile = total == 0 ? 10 : done * 10 / total;
                if (decile > lastDecile)
                {
                    lastDecile = decile;
                    Console.WriteLine($"  {done}/{total}");
                }
            }
        }));
    }

    private sealed class SyncProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
