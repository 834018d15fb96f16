namespace Stella.Continual.Checkpoints;

/// <summary>Where in the stream a checkpoint was taken.</summary>
/// <param name="Task">Task index of the next clip.</param>
/// <param name="ClipOffset">Clips of that task already consumed.</param>
/// <param name="SamplesSeen">Clips consumed in all.</param>
public sealed record StreamPosition(int Task, long ClipOffset, long SamplesSeen);
