using Stella.Continual.Memory;
using Stella.Model;
using Stella.Model.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Continual.Learning;

/// <summary>
/// One training step on its way through the learner's stages (scoring, selection, training, memory): the batch, the replay draw,
/// the AVM's scores, the selection, the rows trained on and what the step returned. Each stage runs in a dispose scope of its own
/// (TorchSharp's scopes belong to a thread, and the graph's stages may run on different threads), so a tensor that a later stage
/// needs is taken out of its stage's scope by <see cref="Own(Tensor)"/> and freed when the work is disposed: nothing is left to
/// the finalizer.
/// </summary>
public sealed class StepWork : IDisposable
{
    private readonly HashSet<Tensor> _owned = new(ReferenceEqualityComparer.Instance);

    /// <summary>Starts a step on <paramref name="batch"/>; with <paramref name="ownsBatch"/> its tensors are freed with the work.</summary>
    public StepWork(StreamBatch batch, bool ownsBatch)
    {
        Batch = batch;
        if (ownsBatch)
        {
            Own(batch.Audio);
            Own(batch.Video);
        }
    }

    /// <summary>The current clips.</summary>
    public StreamBatch Batch { get; }

    /// <summary>Memory items drawn for replay (empty before the memory holds any, and for learners without one).</summary>
    public IReadOnlyList<MemoryItem> Replay { get; set; } = [];

    /// <summary>The AVM's scores of the batch (scoring stage; null for learners without an AVM).</summary>
    public BatchScores? Scores { get; set; }

    /// <summary>The scoring pass' encoding, which the AVM step reuses.</summary>
    public Encoding? Encoding { get; set; }

    /// <summary>Selected token indices of the batch [B, kappa_a] (selection stage).</summary>
    public Tensor? SelectedAudio { get; set; }

    /// <summary>Selected video token indices [B, kappa_v].</summary>
    public Tensor? SelectedVideo { get; set; }

    /// <summary>The rows the backbone trains on (batch then replay) with their token indices; set by the selection stage.</summary>
    public (Tensor Audio, Tensor AudioIndices, Tensor Video, Tensor VideoIndices)? Rows { get; set; }

    /// <summary>What the selection kept (selection stage), for the log.</summary>
    public SelectionStats? Selection { get; set; }

    /// <summary>What the backbone step returned (training stage).</summary>
    public TrainOutcome? Trained { get; set; }

    /// <summary>Rows of the batch the method keeps out of the memory (ESMER's high-loss clips); null: none.</summary>
    public bool[]? KeepOutOfMemory { get; set; }

    /// <summary>The step's losses, for the log.</summary>
    public LearnerStep? Result { get; set; }

    /// <summary>Takes <paramref name="tensor"/> out of the current dispose scope; it is freed with this work.</summary>
    public Tensor Own(Tensor tensor)
    {
        if (_owned.Add(tensor))
        {
            tensor.DetachFromDisposeScope();
        }

        return tensor;
    }

    /// <summary><see cref="Own(Tensor)"/> for a tensor that may be null.</summary>
    public Tensor? OwnOrNull(Tensor? tensor) => tensor is null ? null : Own(tensor);

    /// <summary>Keeps every tensor of <paramref name="scores"/>.</summary>
    public BatchScores Own(BatchScores scores)
    {
        Own(scores.AudioImportance);
        Own(scores.VideoImportance);
        OwnOrNull(scores.AudioCorrelation);
        OwnOrNull(scores.VideoCorrelation);
        Own(scores.QueryAudio);
        Own(scores.QueryVideo);
        return scores;
    }

    /// <summary>
    /// Keeps the tensors of <paramref name="encoding"/> that the AVM step uses (joint and modality outputs); the scoring pass does not
    /// hand its pooled embeddings out of its own scope.
    /// </summary>
    public Encoding Own(Encoding encoding)
    {
        foreach (var t in new[] { encoding.JointAudio, encoding.JointVideo, encoding.ModalityAudio, encoding.ModalityVideo })
        {
            Own(t);
        }

        return encoding;
    }

    /// <summary>Keeps the pooled embeddings of <paramref name="outcome"/>.</summary>
    public TrainOutcome Own(TrainOutcome outcome)
    {
        Own(outcome.PooledAudio);
        Own(outcome.PooledVideo);
        return outcome;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _owned)
        {
            t.Dispose();
        }

        _owned.Clear();
    }
}
