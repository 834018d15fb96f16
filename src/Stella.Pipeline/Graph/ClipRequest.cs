using Stella.Core.Manifests;

namespace Stella.Pipeline.Graph;

/// <summary>A clip the stream asks for.</summary>
/// <param name="Clip">The manifest record.</param>
/// <param name="Index">Its position in the task's stream (all epochs): the resume position counts these.</param>
/// <param name="WindowTask">Task of the clip's training window (its own task, also in a joint stream).</param>
/// <param name="WindowIndex">Position of the clip among its task's distinct clips: with <paramref name="WindowTask"/> it fixes the
/// frame window and keys the feature cache, so every epoch, a resumed run and preprocessed shards use the same window.</param>
/// <param name="Epoch">The pass over the task's clips (over all clips in a joint stream) the request belongs to: with augmentation on
/// it keys the clip's augmentation.</param>
public sealed record ClipRequest(ClipRecord Clip, int Index, int WindowTask, int WindowIndex, int Epoch = 0);
