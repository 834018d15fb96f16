namespace Stella.Media.Synth;

/// <summary>Size and seed of the built-in "sounding objects" benchmark. Defaults keep `make stream-train` within minutes on 2 cores.</summary>
public sealed record SynthOptions
{
    /// <summary>Number of tasks. Default 4.</summary>
    public int Tasks { get; init; } = 4;

    /// <summary>Classes per task. Default 3.</summary>
    public int ClassesPerTask { get; init; } = 3;

    /// <summary>Training clips per class. Default 20.</summary>
    public int TrainPerClass { get; init; } = 20;

    /// <summary>
    /// Retrieval (evaluation) clips per class. The thesis uses 5, but with 3 classes a task one clip then moves a per-task R@k by
    /// 6.7 points; 17 makes it 2 points (51 queries a task). Default 17.
    /// </summary>
    public int EvalPerClass { get; init; } = 17;

    /// <summary>
    /// Warm-up classes: known object types with sounds no task uses (like VGGSound's classes outside every task), rendered as
    /// <c>base</c> rows for <c>stella pretrain</c>. Taken from the end of the class list, so they never overlap the tasks'. Default 6.
    /// </summary>
    public int BaseClasses { get; init; } = 6;

    /// <summary>Warm-up clips per warm-up class. Default 20.</summary>
    public int BasePerClass { get; init; } = 20;

    /// <summary>Clip length in seconds; at least 4 (the video window). Default 6.</summary>
    public double Seconds { get; init; } = 6;

    /// <summary>Seed; the same seed gives the same dataset. Default 0.</summary>
    public int Seed { get; init; }

    /// <summary>Frame side in pixels (square frames, a multiple of 16). Default 128.</summary>
    public int FrameSize { get; init; } = 128;

    /// <summary>Frames per second of the encoded video (the reference samples 8 fps). Default 8.</summary>
    public int Fps { get; init; } = 8;

    /// <summary>Audio sample rate in Hz. Default 16000.</summary>
    public int SampleRate { get; init; } = 16000;

    /// <summary>Objects on screen per clip (one source, the rest silent distractors). Default 3.</summary>
    public int ObjectsPerClip { get; init; } = 3;

    /// <summary>
    /// Index of the first task class in the class list. Default 0. A held-out benchmark for <c>stella downstream --task retrieval</c>
    /// takes the classes after the default tasks' (e.g. 12 after 4 x 3): new classes, the same renderer. Left out of synth.json when 0,
    /// so the datasets (and config hashes) made before it stay what they were.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public int ClassOffset { get; init; }

    /// <summary>Clips encoded at once. Default: the number of cores. Not part of the dataset's identity (not in synth.json).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Throws <see cref="Stella.Core.UserInputException"/> naming the first setting that is out of range.</summary>
    public void Validate()
    {
        Require(Tasks >= 1, $"--tasks must be at least 1 (got {Tasks})");
        Require(ClassesPerTask >= 1, $"--classes-per-task must be at least 1 (got {ClassesPerTask})");
        Require(BaseClasses >= 0, $"--base-classes must not be negative (got {BaseClasses})");
        Require(BasePerClass >= 0, $"--base-per-class must not be negative (got {BasePerClass})");
        Require(ClassOffset >= 0, $"--class-offset must not be negative (got {ClassOffset})");
        Require(ClassOffset + (Tasks * ClassesPerTask) + BaseClasses <= SynthCatalog.MaxClasses,
            $"--class-offset + --tasks x --classes-per-task + --base-classes = {ClassOffset + (Tasks * ClassesPerTask) + BaseClasses} exceeds the {SynthCatalog.MaxClasses} distinct classes the generator can make");
        Require(TrainPerClass >= 1, $"--train-per-class must be at least 1 (got {TrainPerClass})");
        Require(EvalPerClass >= 0, $"--eval-per-class must not be negative (got {EvalPerClass})");
        Require(Seconds is >= 4 and <= 60, $"--seconds must be between 4 and 60 (got {Seconds})");
        Require(FrameSize >= 32 && FrameSize % 16 == 0, $"frame size must be a multiple of 16, at least 32 (got {FrameSize})");
        Require(ObjectsPerClip is >= 1 and <= 6, $"objects per clip must be 1..6 (got {ObjectsPerClip})");
        Require(Fps is >= 1 and <= 30, $"fps must be 1..30 (got {Fps})");
    }

    private static void Require(bool ok, string message)
    {
        if (!ok)
        {
            throw new Stella.Core.UserInputException(message);
        }
    }
}
