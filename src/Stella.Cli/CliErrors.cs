using System.Runtime.InteropServices;
using Stella.Core;
using Stella.Pipeline;

namespace Stella.Cli;

/// <summary>
/// Turns the errors a user can cause (<see cref="UserInputException"/>) into one clear line on stderr and exit code 2, a reached
/// quarantine limit into its message and exit code 3, and a stop by signal into 130 (SIGINT, Ctrl-C) or 143 (SIGTERM), the
/// shells' 128 + signal number. Anything else is a bug: it is not caught, so it keeps its stack trace.
/// </summary>
internal static class CliErrors
{
    /// <summary>Exit code of a user error.</summary>
    public const int UserError = 2;

    /// <summary>Exit code of a run stopped by its quarantine limit.</summary>
    public const int QuarantineLimit = 3;

    /// <summary>Exit code of a run stopped by SIGINT (Ctrl-C): 128 + 2.</summary>
    public const int Interrupted = 130;

    /// <summary>Exit code of a run stopped by SIGTERM: 128 + 15.</summary>
    public const int Terminated = 143;

    public static Task<int> RunAsync(Func<Task<int>> run) => RunAsync(run, Console.Error, () => StopSignals.Received);

    /// <summary>Runs <paramref name="run"/>; <paramref name="stoppedBy"/> tells which signal (if any) stopped it.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> run, TextWriter error, Func<PosixSignal?> stoppedBy)
    {
        try
        {
            return await run();
        }
        catch (QuarantineLimitException e)
        {
            await error.WriteLineAsync($"error: {e.Message}");
            return QuarantineLimit;
        }
        catch (UserInputException e)
        {
            await error.WriteLineAsync($"error: {e.Message}");
            return UserError;
        }
        catch (OperationCanceledException)
        {
            var signal = stoppedBy();
            await error.WriteLineAsync("cancelled");
            return signal == PosixSignal.SIGTERM ? Terminated : Interrupted;
        }
    }
}
