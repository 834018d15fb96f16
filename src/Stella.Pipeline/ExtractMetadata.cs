using System.Text.Json;
using System.Text.Json.Serialization;
using Stella.Core;
using Stella.Coreset;

namespace Stella.Pipeline;

/// <summary>
/// What <c>stella extract</c> wrote, beside its output (<c>PATH.extract.json</c> for a .npy, <c>extract.json</c> in a shard folder):
/// the model, the layers (each a [video || audio] block of 2 x <paramref name="Dim"/>) and the row width. <c>stella coreset</c>
/// reads it for its --layers default, so our own extract's output works with coreset's defaults.
/// </summary>
/// <param name="Model">Model preset.</param>
/// <param name="Layers">Block indices extracted, in row order.</param>
/// <param name="Dim">Model width D; each layer block is 2 D wide.</param>
/// <param name="Width">Row width, 2 x layers x D.</param>
public sealed record ExtractMetadata(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("layers")] int[] Layers,
    [property: JsonPropertyName("dim")] int Dim,
    [property: JsonPropertyName("width")] int Width)
{
    /// <summary>Layer blocks per row (what coreset's --layers means).</summary>
    [JsonIgnore]
    public int LayerBlocks => Layers.Length;

    /// <summary>The metadata file of the features at <paramref name="features"/> (a .npy file or a shard folder).</summary>
    public static string PathFor(string features) =>
        Directory.Exists(features) || !features.EndsWith(".npy", StringComparison.OrdinalIgnoreCase) ? Path.Combine(features, "extract.json") : features + ".extract.json";

    /// <summary>Writes the metadata beside <paramref name="features"/> (atomically: shard processes may write it at once).</summary>
    public void Write(string features)
    {
        var path = PathFor(features);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>The metadata beside <paramref name="features"/>, or null when there is none (features from elsewhere).</summary>
    public static ExtractMetadata? Read(string features)
    {
        var path = PathFor(features);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<ExtractMetadata>(File.ReadAllText(path)) is { Layers.Length: > 0 } m ? m : throw new JsonException("no layers listed");
        }
        catch (JsonException e)
        {
            throw new UserInputException($"{path}: not a stella extract metadata file: {e.Message}", e);
        }
    }

    /// <summary>
    /// coreset's --layers when none is given: the layer blocks stella extract wrote beside <paramref name="features"/>, else the
    /// default of <see cref="CoincideOptions.Layers"/> (the authors' feature files); with where the figure came from.
    /// </summary>
    public static (int Layers, string Source) CoresetLayers(string features) =>
        Read(features) is { } m ? (m.LayerBlocks, PathFor(features)) : (new CoincideOptions().Layers, "the default for the authors' feature files");
}
