using System.Globalization;
using System.Text.Json;
using Stella.Core.Tasks;
using Stella.Model.Config;

namespace Stella.Pipeline.Shards;

/// <summary>
/// What makes a patch shard self-describing, stored in each file's Parquet key-value metadata: schema version, patch geometry,
/// normalization, the hash of the settings that decided the inputs, the task names, and the listing of its rows (so a reader
/// learns the whole stream from the footers without reading any patches). <paramref name="Fbank"/>: how a compact shard stores
/// the fbank ("float32" or "float16"; null in version 1 files, which store patches). <paramref name="Augment"/>: the
/// augmentation a compact shard's training rows were made for (<see cref="Augment.AugmentOptions"/>' text; null: none), whose
/// rows hold the media every epoch's draw needs (every frame of the clip with a random window).
/// </summary>
public sealed record ShardMetadata(int Version, string Geometry, string Normalization, string SourceHash, int WindowSeed, IReadOnlyList<TaskDefinition> Tasks, IReadOnlyList<ShardEntry> Rows, string? Fbank = null, string? Augment = null)
{
    /// <summary>Schema version of compact shards (<see cref="CompactPatchRow"/>: 8-bit frames and the fbank, cut into patches at read time), what preprocess writes by default.</summary>
    public const int SchemaVersion = 2;

    /// <summary>Schema version of patch shards (<see cref="PatchRow"/>: float32 patches), the first format; still read, and written on request.</summary>
    public const int PatchesVersion = 1;

    /// <summary>The fbank stored as float32 (lossless).</summary>
    public const string Float32 = "float32";

    /// <summary>The fbank stored as float16 (half the bytes; not lossless).</summary>
    public const string Float16 = "float16";

    /// <summary>The normalization every shard of this build holds.</summary>
    public const string CurrentNormalization = "audio: kaldi fbank 128 mel, 25 ms/10 ms, mean removed, padded/cut, (x + 5.081) / 4.4849; video: RGB / 255, ImageNet mean/std";

    private const string Key = "stella.patch_shard";

    /// <summary>The geometry string of <paramref name="model"/>'s inputs.</summary>
    public static string GeometryOf(ModelConfig model) => string.Create(CultureInfo.InvariantCulture,
        $"audio {model.AudioFrames}x{model.MelBins} -> {model.AudioTokens}x{model.AudioPatchDim}; video {model.Frames}x3x{model.FrameSize}x{model.FrameSize} -> {model.VideoTokens}x{model.VideoPatchDim}; patch {model.Patch}");

    /// <summary>As Parquet key-value metadata.</summary>
    public Dictionary<string, string> ToKeyValue() => new() { [Key] = JsonSerializer.Serialize(this) };

    /// <summary>Reads the metadata of a shard; null when the file is not a patch shard.</summary>
    public static ShardMetadata? From(IReadOnlyDictionary<string, string> keyValue) =>
        keyValue.TryGetValue(Key, out var json) ? JsonSerializer.Deserialize<ShardMetadata>(json) : null;
}
