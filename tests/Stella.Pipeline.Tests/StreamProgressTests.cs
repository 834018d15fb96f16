using Stella.Pipeline.Telemetry;

namespace Stella.Pipeline.Tests;

public sealed class StreamProgressTests
{
    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(double seconds) => _ticks += (long)(seconds * TimeSpan.TicksPerSecond);
    }

    [Fact]
    public void Eta_AfterAFewTimedSteps_AppearsAtTheFirstReading()
    {
        // As a log-only run reads it: nothing reads the progress until step 3 (the live display may never run).
        var clock = new ManualClock();
        var progress = new StreamProgress(clock);
        progress.SetPlan(1, 100);
        progress.StartTask(0, () => (0, 0, 0));
        for (var step = 1; step <= 3; step++)
        {
            clock.Advance(2);
            progress.Stepped(step, 4, 1.0);
        }

        var p = progress.Snapshot();

        // 12 clips in 6 s: 2 clips/s, 88 clips to go.
        Assert.Equal(2.0, p.TrainedPerSecond, 9);
        Assert.Equal(TimeSpan.FromSeconds(44), p.Eta);
    }

    [Fact]
    public void Eta_BeforeAnyStep_IsUnknown()
    {
        var clock = new ManualClock();
        var progress = new StreamProgress(clock);
        progress.SetPlan(1, 100);
        progress.StartTask(0, () => (0, 0, 0));
        clock.Advance(5);
        Assert.Null(progress.Snapshot().Eta);
    }

    [Fact]
    public void Eta_FollowsTheRecentRate_WhenStepsSlowDown()
    {
        var clock = new ManualClock();
        var progress = new StreamProgress(clock);
        progress.SetPlan(1, 1000);
        progress.StartTask(0, () => (0, 0, 0));
        long step = 0;
        for (; step < 10; step++)
        {
            clock.Advance(1);
            progress.Stepped(step + 1, 2, 1.0); // 2 clips/s
        }

        for (; step < 30; step++)
        {
            clock.Advance(4);
            progress.Stepped(step + 1, 2, 1.0); // 0.5 clips/s for 80 s: the 30 s window holds only these
        }

        var p = progress.Snapshot();
        Assert.Equal(0.5, p.TrainedPerSecond, 9);
        Assert.Equal(TimeSpan.FromSeconds((1000 - 60) / 0.5), p.Eta);
    }
}
