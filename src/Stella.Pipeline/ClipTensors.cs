using Stella.Model.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Pipeline;

/// <summary>Finished clips as model input tensors: the one place that lays patches out for the backbone.</summary>
public static class ClipTensors
{
    /// <summary>
    /// Audio [B, M, P*P] and video [B, N, 3*P*P] patches of <paramref name="clips"/> on <paramref name="device"/>, in the current
    /// dispose scope; a clip whose patch count does not fit the model is refused by name.
    /// </summary>
    public static (Tensor Audio, Tensor Video) Stack(IReadOnlyList<ClipOutcome> clips, ModelConfig model, Device? device = null)
    {
        var audioSize = model.AudioTokens * model.AudioPatchDim;
        var videoSize = model.VideoTokens * model.VideoPatchDim;
        var audio = new float[clips.Count * audioSize];
        var video = new float[clips.Count * videoSize];
        for (var i = 0; i < clips.Count; i++)
        {
            var c = clips[i];
            if (c.AudioPatches?.Length != audioSize || c.VideoPatches?.Length != videoSize)
            {
                throw new InvalidDataException(
                    $"clip {c.Clip.ClipId}: {c.AudioPatches?.Length ?? 0} audio and {c.VideoPatches?.Length ?? 0} video patch values, the {model.Name} model takes {audioSize} and {videoSize}");
            }

            c.AudioPatches.CopyTo(audio, i * audioSize);
            c.VideoPatches.CopyTo(video, i * videoSize);
        }

        return (torch.tensor(audio, [clips.Count, model.AudioTokens, model.AudioPatchDim], device: device),
                torch.tensor(video, [clips.Count, model.VideoTokens, model.VideoPatchDim], device: device));
    }
}
