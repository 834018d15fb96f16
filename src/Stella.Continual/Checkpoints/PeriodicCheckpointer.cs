using Stella.Continual.Learning;

namespace Stella.Continual.Checkpoints;

/// <summary>Saves a checkpoint every <see cref="Every"/> steps and once at the end (the cadence stream-train uses).</summary>
public sealed class PeriodicCheckpointer(CheckpointStore store, int every)
{
    /// <summary>Steps between checkpoints.</summary>
    public int Every { get; } = every > 0 ? every : throw new ArgumentOutOfRangeException(nameof(every), every, "must be at least 1");

    /// <summary>Steps of the last checkpoint written, or -1.</summary>
    public long LastSaved { get; private set; } = -1;

    /// <summary>Saves when the learner's step count is a multiple of <see cref="Every"/>; returns whether it saved.</summary>
    public async Task<bool> AfterStepAsync(Learner learner, StreamPosition position, CancellationToken cancellationToken = default)
    {
        if (learner.Steps == 0 || learner.Steps % Every != 0)
        {
            return false;
        }

        await store.SaveAsync(learner, position, cancellationToken).ConfigureAwait(false);
        LastSaved = learner.Steps;
        return true;
    }

    /// <summary>Saves now (a task end) and remembers it.</summary>
    public async Task SaveAsync(Learner learner, StreamPosition position, CancellationToken cancellationToken = default)
    {
        await store.SaveAsync(learner, position, cancellationToken).ConfigureAwait(false);
        LastSaved = learner.Steps;
    }

    /// <summary>Saves at the end unless the last step was just saved.</summary>
    public async Task FinishAsync(Learner learner, StreamPosition position, CancellationToken cancellationToken = default)
    {
        if (LastSaved != learner.Steps)
        {
            await store.SaveAsync(learner, position, cancellationToken).ConfigureAwait(false);
            LastSaved = learner.Steps;
        }
    }
}
