using Stella.Core.Manifests;
using Stella.Media.Decode;

namespace Stella.Pipeline.Graph;

/// <summary>Stage 1: ffmpeg decodes the clip's audio (16 kHz mono PCM) and the frames of its window.</summary>
public sealed class DecodeStage(ClipDecoder decoder, DataRoot root, string manifest)
{
    /// <summary>The stage's name in quarantine.csv.</summary>
    public const string Name = "decode";

    /// <summary>The decoder's settings.</summary>
    public DecodeOptions Options => decoder.Options;

    /// <summary>The media file of <paramref name="clip"/> under the data root (a bad path is a <see cref="ManifestException"/>).</summary>
    public string PathOf(ClipRecord clip) => root.Resolve(clip.RelativePath, manifest, clip.Row);

    /// <summary>
    /// Decodes <paramref name="item"/>'s clip with the frame window <paramref name="window"/>, or every frame of the clip when its
    /// augmentation draws a fresh window each epoch.
    /// </summary>
    public Task<ClipInFlight> RunAsync(ClipInFlight item, FrameWindow window, CancellationToken ct) =>
        StageGuard.RunAsync(Name, ct, item, async i =>
        {
            i.Decoded = await decoder.DecodeAsync(PathOf(i.Request.Clip), i.Augment is { Options.RandomWindow: true } ? FrameWindow.Whole : window, ct).ConfigureAwait(false);
        });
}
