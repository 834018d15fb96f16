using Stella.Core.Manifests;
using Stella.Media.Decode;

namespace Stella.Pipeline.Graph;

/// <summary>
/// Stage 1: ffmpeg decodes the clip's audio (16 kHz mono PCM) and the frames of its window; a clip in the authors' preprocessed
/// layout (a manifest row with an audio file) has its JPEG frames read and its audio file decoded instead (<see cref="FrameFolderDecoder"/>).
/// </summary>
public sealed class DecodeStage(ClipDecoder decoder, DataRoot root, string manifest)
{
    /// <summary>The stage's name in quarantine.csv.</summary>
    public const string Name = "decode";

    private readonly FrameFolderDecoder _folders = new(decoder);

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
            var clip = i.Request.Clip;
            var w = i.Augment is { Options.RandomWindow: true } ? FrameWindow.Whole : window;
            i.Decoded = clip.AudioPath is { } audio
                ? await _folders.DecodeAsync(PathOf(clip), root.Resolve(audio, manifest, clip.Row), w, ct).ConfigureAwait(false)
                : await decoder.DecodeAsync(PathOf(clip), w, ct).ConfigureAwait(false);
        });
}
