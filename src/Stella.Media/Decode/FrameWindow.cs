namespace Stella.Media.Decode;

/// <summary>Where the frame window starts: random in training, centred for evaluation (3 s in a 10 s clip, as the reference).</summary>
public abstract record FrameWindow
{
    /// <summary>Centred window, for evaluation.</summary>
    public static FrameWindow Eval { get; } = new EvalWindow();

    /// <summary>
    /// Every frame of the clip at the sample rate from its start (no window): training with a fresh window every epoch keeps
    /// them and picks the window itself.
    /// </summary>
    public static FrameWindow Whole { get; } = new WholeClip();

    /// <summary>True for <see cref="Whole"/>.</summary>
    public virtual bool IsWhole => false;

    /// <summary>Uniformly random start drawn from <paramref name="rng"/>, for training.</summary>
    public static FrameWindow Train(Random rng) => new TrainWindow(rng);

    /// <summary>Start in seconds for a clip of <paramref name="duration"/> and a window of <paramref name="window"/> seconds.</summary>
    public abstract double Start(double duration, double window);

    private sealed record EvalWindow : FrameWindow
    {
        public override double Start(double duration, double window) => Math.Max(0, (duration - window) / 2);
    }

    private sealed record WholeClip : FrameWindow
    {
        public override bool IsWhole => true;

        public override double Start(double duration, double window) => 0;
    }

    private sealed record TrainWindow(Random Rng) : FrameWindow
    {
        public override double Start(double duration, double window)
        {
            lock (Rng)
            {
                return Math.Max(0, duration - window) * Rng.NextDouble();
            }
        }
    }
}
