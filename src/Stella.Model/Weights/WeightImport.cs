using Stella.Core;
using Stella.Model.Config;
using Stella.Model.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Model.Weights;

/// <summary>What an import did: tensors loaded, ours left at initialisation, the file's not used, shape mismatches refused, notes.</summary>
public sealed record ImportReport(int Loaded, IReadOnlyList<string> StayedAtInit, IReadOnlyList<string> Unused, IReadOnlyList<string> Refused, IReadOnlyList<string> Notes)
{
    /// <summary>The report as log lines: the count first, then each list by name.</summary>
    public IEnumerable<string> Lines()
    {
        yield return $"loaded {Loaded} tensors";
        yield return StayedAtInit.Count == 0 ? "stayed at initialisation: none" : $"stayed at initialisation ({StayedAtInit.Count}): {string.Join(", ", StayedAtInit)}";
        yield return Unused.Count == 0 ? "not used from the file: none" : $"not used from the file ({Unused.Count}): {string.Join(", ", Unused)}";
        yield return Refused.Count == 0 ? "refused (shape mismatch): none" : $"refused (shape mismatch) ({Refused.Count}): {string.Join("; ", Refused)}";
        foreach (var note in Notes)
        {
            yield return $"note: {note}";
        }
    }
}

/// <summary>Puts a PyTorch file's tensors into our backbone and AVM through a <see cref="WeightLayouts"/> mapping and says what it did.</summary>
public static class WeightImport
{
    /// <summary>Our model's tensors by our names: the backbone's, then the AVM's prefixed <see cref="WeightLayouts.AvmPrefix"/> (the live tensors, not copies).</summary>
    public static Dictionary<string, Tensor> OurTensors(Backbone backbone, Avm avm)
    {
        var result = new Dictionary<string, Tensor>(backbone.state_dict());
        foreach (var (name, t) in avm.state_dict())
        {
            result[WeightLayouts.AvmPrefix + name] = t;
        }

        return result;
    }

    /// <summary>
    /// Loads <paramref name="file"/> (and <paramref name="avmFile"/>) of layout <paramref name="source"/> into <paramref name="backbone"/>
    /// and <paramref name="avm"/>. A tensor whose shape does not fit ours is refused (and named with both shapes); ours that nothing
    /// loaded keep their values. The inter-modality position embeddings train from then on when the import gave them values.
    /// </summary>
    public static ImportReport Apply(
        Backbone backbone, Avm avm, WeightSource source, IReadOnlyDictionary<string, Tensor> file, IReadOnlyDictionary<string, Tensor>? avmFile = null)
    {
        var ours = OurTensors(backbone, avm);
        var loaded = new HashSet<string>();
        var refused = new List<string>();
        WeightMapping mapping;
        using (var scope = torch.NewDisposeScope())
        using (torch.no_grad())
        {
            mapping = WeightLayouts.Map(source, file, backbone.Config, ours.Keys, avmFile);
            if (mapping.Tensors.Count == 0)
            {
                throw new UserInputException(
                    $"no tensor of the {SourceName(source)} layout in the file (its keys: {string.Join(", ", file.Keys.Order(StringComparer.Ordinal).Take(6))}{(file.Count > 6 ? ", ..." : string.Empty)})");
            }

            foreach (var m in mapping.Tensors)
            {
                if (!ours.TryGetValue(m.Ours, out var target))
                {
                    refused.Add($"{m.Source} {StateDictFile.Shape(m.SourceShape)}: our model has no {m.Ours}");
                    continue;
                }

                if (!target.shape.SequenceEqual(m.Value.shape))
                {
                    var mapped = m.Value.shape.SequenceEqual(m.SourceShape) ? string.Empty : $" (as {StateDictFile.Shape(m.Value)})";
                    refused.Add($"{m.Ours} {StateDictFile.Shape(target)} <- {m.Source} {StateDictFile.Shape(m.SourceShape)}{mapped}");
                    continue;
                }

                target.copy_(m.Value);
                loaded.Add(m.Ours);
            }
        }

        backbone.InterPositionLearned = HasValues(ours["audio_inter_pos"]) || HasValues(ours["video_inter_pos"]);
        var unused = file.Keys.Where(k => !mapping.Used.Contains(k))
            .Concat((avmFile?.Keys ?? []).Select(k => "--avm " + k).Where(k => !mapping.Used.Contains(k)))
            .Order(StringComparer.Ordinal).ToList();
        return new ImportReport(loaded.Count, ours.Keys.Where(k => !loaded.Contains(k)).ToList(), unused, refused, mapping.Notes);
    }

    /// <summary>The layout's name as the command line spells it.</summary>
    public static string SourceName(WeightSource source) => source switch
    {
        WeightSource.Mae => "mae",
        WeightSource.CavMae => "cav-mae",
        WeightSource.Stella => "stella",
        _ => "ours",
    };

    /// <summary>The layout of a command-line name (mae, cav-mae, stella, ours).</summary>
    public static WeightSource ParseSource(string name) => name.ToLowerInvariant() switch
    {
        "mae" => WeightSource.Mae,
        "cav-mae" or "cavmae" => WeightSource.CavMae,
        "stella" => WeightSource.Stella,
        "ours" => WeightSource.Ours,
        _ => throw new UserInputException($"--from {name}: unknown layout; use mae, cav-mae, stella or ours"),
    };

    /// <summary>Whether any value of <paramref name="t"/> is not zero.</summary>
    public static bool HasValues(Tensor t)
    {
        using var nonzero = t.count_nonzero();
        return nonzero.item<long>() > 0;
    }

    /// <summary>
    /// Our model's weights as a flat state dict in <paramref name="path"/> (.pth: torch.save zip; .safetensors), with the authors' names
    /// and layouts (<paramref name="stellaNames"/>) or ours; returns the number of tensors written.
    /// </summary>
    public static int Export(Backbone backbone, Avm avm, string path, bool stellaNames = true)
    {
        using var scope = torch.NewDisposeScope();
        var ours = OurTensors(backbone, avm);
        var tensors = stellaNames ? WeightLayouts.ToStella(ours, backbone.Config) : WeightLayouts.ToOurs(ours);
        StateDictFile.Write(path, tensors);
        return tensors.Count;
    }
}
