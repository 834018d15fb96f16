namespace Stella.Tests.Shared;

/// <summary>
/// GC pressure for the tests that hunt objects left to the finalizer (a TorchSharp tensor or Scalar freed by the finalizer thread
/// while a native call still reads it): a second thread collects and finalizes without pause while the body runs. Linked into
/// each test project that uses it.
/// </summary>
internal static class ConstantCollection
{
    /// <summary>Runs <paramref name="body"/> under constant collection; returns its result and how many collections ran beside it.</summary>
    public static (T Result, int Collections) While<T>(Func<T> body)
    {
        using var stop = new CancellationTokenSource();
        var collections = 0;
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                collections++;
            }
        }) { IsBackground = true };
        collector.Start();
        try
        {
            return (body(), collections);
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
    }
}
