using System.Runtime.InteropServices;

namespace Stella.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM as one cancellation token for the long commands: the job writes its checkpoint and returns; the
/// process is not killed under it (Program turns System.CommandLine's own termination handling off for this reason). The first
/// signal is recorded (<see cref="Received"/>) so the process exits with its code (130 for SIGINT, 143 for SIGTERM).
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private static int _received;
    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration _sigterm;
    private readonly ConsoleCancelEventHandler _sigint;

    public StopSignals(CancellationToken outer)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; Stop(PosixSignal.SIGTERM); });
        _sigint = (_, e) => { e.Cancel = true; Stop(PosixSignal.SIGINT); };
        Console.CancelKeyPress += _sigint;
    }

    /// <summary>The first stop signal this process received, or null when none came.</summary>
    public static PosixSignal? Received => Volatile.Read(ref _received) is var s and not 0 ? (PosixSignal)s : null;

    /// <summary>Cancelled on the first signal.</summary>
    public CancellationToken Token => _stop.Token;

    public void Dispose()
    {
        Console.CancelKeyPress -= _sigint;
        _sigterm.Dispose();
        _stop.Dispose();
    }

    private void Stop(PosixSignal signal)
    {
        // PosixSignal values are negative and never 0, so 0 means "none yet"; only the first signal counts.
        Interlocked.CompareExchange(ref _received, (int)signal, 0);
        _stop.Cancel();
    }
}
