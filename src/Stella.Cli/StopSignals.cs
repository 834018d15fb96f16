using System.Runtime.InteropServices;

namespace Stella.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM as one cancellation token for the long commands: the job writes its checkpoint and returns; the
/// process is not killed under it (Program turns System.CommandLine's own termination handling off for this reason).
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration _sigterm;
    private readonly ConsoleCancelEventHandler _sigint;

    public StopSignals(CancellationToken outer)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; _stop.Cancel(); });
        _sigint = (_, e) => { e.Cancel = true; _stop.Cancel(); };
        Console.CancelKeyPress += _sigint;
    }

    /// <summary>Cancelled on the first signal.</summary>
    public CancellationToken Token => _stop.Token;

    public void Dispose()
    {
        Console.CancelKeyPress -= _sigint;
        _sigterm.Dispose();
        _stop.Dispose();
    }
}
