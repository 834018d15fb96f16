using System.Runtime.InteropServices;
using Stella.Core;
using Stella.Core.Manifests;
using Stella.Pipeline;

namespace Stella.Cli.Tests;

public sealed class CliErrorsTests
{
    private static async Task<(int Code, string Error)> Run(Exception thrown, PosixSignal? signal = null)
    {
        var error = new StringWriter();
        var code = await CliErrors.RunAsync(() => throw thrown, error, () => signal);
        return (code, error.ToString());
    }

    [Fact]
    public async Task UserError_IsOneLine_Exit2()
    {
        Assert.Equal((2, "error: --seeds: 'x' is not an integer" + Environment.NewLine), await Run(new UserInputException("--seeds: 'x' is not an integer")));
    }

    [Fact]
    public async Task ManifestError_IsAUserError()
    {
        Assert.Equal((2, "error: m.csv:3: bad" + Environment.NewLine), await Run(new ManifestException("m.csv", 3, "bad")));
    }

    [Theory]
    [InlineData(typeof(InvalidOperationException))]
    [InlineData(typeof(ArgumentException))]
    [InlineData(typeof(InvalidDataException))]
    [InlineData(typeof(NullReferenceException))]
    public async Task Bug_IsNotTurnedIntoAOneLiner_ItKeepsItsStack(Type type)
    {
        var bug = (Exception)Activator.CreateInstance(type, "a bug")!;
        var error = new StringWriter();
        var thrown = await Assert.ThrowsAsync(type, () => CliErrors.RunAsync(() => throw bug, error, () => null));
        Assert.Same(bug, thrown);
        Assert.Equal(string.Empty, error.ToString());
    }

    [Fact]
    public async Task QuarantineLimit_PrintsItsMessage_Exit3_NotCancelled()
    {
        var (code, text) = await Run(new QuarantineLimitException(4, 20, 0.1, "run/quarantine.csv"));
        Assert.Equal(3, code);
        Assert.Equal("error: 4 of 20 clips quarantined (20%), above the tolerated 10% (max_quarantine_share): see run/quarantine.csv" + Environment.NewLine, text);
    }

    [Theory]
    [InlineData(PosixSignal.SIGTERM, 143)]
    [InlineData(PosixSignal.SIGINT, 130)]
    [InlineData(null, 130)]
    public async Task Cancelled_ExitCodeFollowsTheSignal(PosixSignal? signal, int expected)
    {
        Assert.Equal((expected, "cancelled" + Environment.NewLine), await Run(new OperationCanceledException(), signal));
    }

    [Fact]
    public async Task StopSignals_RecordsSigterm_AndCancels()
    {
        using var signals = new StopSignals(CancellationToken.None);
        Assert.Equal(0, Kill(Environment.ProcessId, 15));
        var stopped = new TaskCompletionSource();
        using (signals.Token.Register(() => stopped.TrySetResult()))
        {
            Assert.Same(stopped.Task, await Task.WhenAny(stopped.Task, Task.Delay(TimeSpan.FromSeconds(30))));
        }

        Assert.Equal(PosixSignal.SIGTERM, StopSignals.Received);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
