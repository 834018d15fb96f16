using Stella.Core;
using Stella.Model.Config;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Model.Weights;

/// <summary>Where an import's weights come from.</summary>
public enum WeightSource
{
    /// <summary>facebookresearch/mae ViT-B/16: the encoder-only or the _full (with decoder) checkpoint.</summary>
    Mae,

    /// <summary>YuanGongND/cav-mae checkpoints (keys prefixed <c>module.</c>).</summary>
    CavMae,

    /// <summary>The authors' STELLA checkpoints (G-JWLee/STELLA_code), and this project's exports with <c>--names stella</c>.</summary>
    Stella,

    /// <summary>This project's own names (exports with <c>--names ours</c>).</summary>
    Ours,
}

/// <summary>One tensor an import puts into our model: our name, its value in our layout, and the file key it came from.</summary>
public sealed record MappedTensor(string Ours, Tensor Value, string Source, long[] SourceShape);

/// <summary>What a layout makes of a file: the tensors for our model, the file keys they used, and notes on what cannot map.</summary>
public sealed record WeightMapping(List<MappedTensor> Tensors, HashSet<string> Used, List<string> Notes);

/// <summary>
/// The key names and tensor layouts of the PyTorch models this project trades weights with, mapped to ours. Our backbone keeps
/// patch embeddings as Linear weights over flattened patches (audio values (time, freq), video values (channel, row, column):
/// the layout of a flattened Conv2d kernel, see Patchify) and time-major audio tokens (t * F + f).
/// </summary>
public static class WeightLayouts
{
    /// <summary>Prefix our loader gives the AVM's keys next to the backbone's.</summary>
    public const string AvmPrefix = "avm.";

    /// <summary>The authors' AVM key prefix in a flat export (their files carry <c>module.avmatching_module.</c>).</summary>
    public const string AuthorsAvmPrefix = "avmatching_module.";

    private static readonly (string Ours, string Theirs)[] BlockStacks =
        [("audio_blocks.", "blocks_a."), ("video_blocks.", "blocks_v."), ("joint_blocks.", "blocks_u."), ("decoder_blocks.", "decoder_blocks.")];

    private static readonly Dictionary<string, string> StellaNames = new()
    {
        ["audio_embed.weight"] = "patch_embed_a.proj.weight",
        ["audio_embed.bias"] = "patch_embed_a.proj.bias",
        ["video_embed.weight"] = "patch_embed_v.proj.weight",
        ["video_embed.bias"] = "patch_embed_v.proj.bias",
        ["audio_pos"] = "pos_embed_a",
        ["video_pos"] = "pos_embed_v",
        ["audio_inter_pos"] = "inter_pos_embed_a",
        ["video_inter_pos"] = "inter_pos_embed_v",
        ["audio_modality"] = "modality_a",
        ["video_modality"] = "modality_v",
        ["mask_token"] = "mask_token_a",
        ["decoder_audio_pos"] = "decoder_pos_embed_a",
        ["decoder_video_pos"] = "decoder_pos_embed_v",
        ["decoder_audio_modality"] = "decoder_modality_a",
        ["decoder_video_modality"] = "decoder_modality_v",
        ["decoder_pred_a.weight"] = "mae_score_audio.decoder.weight",
        ["decoder_pred_a.bias"] = "mae_score_audio.decoder.bias",
        ["decoder_pred_v.weight"] = "mae_score_video.decoder.weight",
        ["decoder_pred_v.bias"] = "mae_score_video.decoder.bias",
        ["avm.q_a.weight"] = "avmatching_module.to_a_q.weight",
        ["avm.k_a.weight"] = "avmatching_module.to_a_k.weight",
        ["avm.v_a.weight"] = "avmatching_module.to_a_v.weight",
        ["avm.q_v.weight"] = "avmatching_module.to_v_q.weight",
        ["avm.k_v.weight"] = "avmatching_module.to_v_k.weight",
        ["avm.v_v.weight"] = "avmatching_module.to_v_v.weight",
        ["avm.fc1.weight"] = "avmatching_module.matching_score.pooler.dense.weight",
        ["avm.fc1.bias"] = "avmatching_module.matching_score.pooler.dense.bias",
        ["avm.fc2.weight"] = "avmatching_module.matching_score.fc.weight",
        ["avm.fc2.bias"] = "avmatching_module.matching_score.fc.bias",
    };

    /// <summary>The authors' name of our tensor <paramref name="ours"/> (backbone names, AVM names prefixed <see cref="AvmPrefix"/>).</summary>
    public static string StellaName(string ours)
    {
        if (StellaNames.TryGetValue(ours, out var theirs))
        {
            return theirs;
        }

        if (ours.StartsWith(AvmPrefix, StringComparison.Ordinal))
        {
            return AuthorsAvmPrefix + ours[AvmPrefix.Length..];
        }

        foreach (var (o, t) in BlockStacks)
        {
            if (ours.StartsWith(o, StringComparison.Ordinal))
            {
                return t + ours[o.Length..];
            }
        }

        return ours;
    }

    /// <summary>
    /// Our model's tensors as the authors' flat state dict: their names, conv-kernel patch embeddings ([D,1,P,P] audio, [D,3,P,P]
    /// video) and both mask tokens (ours is one, shared). The AVM's keys carry <see cref="AuthorsAvmPrefix"/>. New tensors.
    /// </summary>
    public static Dictionary<string, Tensor> ToStella(IReadOnlyDictionary<string, Tensor> ours, ModelConfig config)
    {
        var result = new Dictionary<string, Tensor>();
        foreach (var (name, value) in ours)
        {
            var t = value.detach();
            result[StellaName(name)] = name switch
            {
                "audio_embed.weight" => t.reshape(t.shape[0], 1, config.Patch, config.Patch).clone(),
                "video_embed.weight" => t.reshape(t.shape[0], 3, config.Patch, config.Patch).clone(),
                _ => t.clone(),
            };
            if (name == "mask_token")
            {
                result["mask_token_v"] = t.clone();
            }
        }

        return result;
    }

    /// <summary>Our tensors with our own names (the AVM's prefixed <see cref="AvmPrefix"/>). New tensors.</summary>
    public static Dictionary<string, Tensor> ToOurs(IReadOnlyDictionary<string, Tensor> ours) =>
        ours.ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    /// <summary>
    /// Maps the file's tensors <paramref name="file"/> (and an AVM file's, <paramref name="avmFile"/>) of <paramref name="source"/> onto
    /// our names <paramref name="ourNames"/> (the backbone's, and the AVM's prefixed <see cref="AvmPrefix"/>).
    /// </summary>
    public static WeightMapping Map(
        WeightSource source, IReadOnlyDictionary<string, Tensor> file, ModelConfig config, IReadOnlyCollection<string> ourNames, IReadOnlyDictionary<string, Tensor>? avmFile = null)
    {
        var mapping = source switch
        {
            WeightSource.Mae => MapMae(file, config),
            WeightSource.CavMae => MapCavMae(file, config),
            WeightSource.Stella => MapStella(file, ourNames),
            WeightSource.Ours => MapOurs(file),
            _ => throw new ArgumentOutOfRangeException(nameof(source)),
        };
        if (avmFile is not null)
        {
            var avm = MapStella(avmFile, ourNames);
            var taken = mapping.Tensors.Select(t => t.Ours).ToHashSet();
            mapping.Tensors.AddRange(avm.Tensors.Where(t => t.Ours.StartsWith(AvmPrefix, StringComparison.Ordinal) && !taken.Contains(t.Ours))
                .Select(t => t with { Source = "--avm " + t.Source }));
            mapping.Used.UnionWith(avm.Tensors.Where(t => t.Ours.StartsWith(AvmPrefix, StringComparison.Ordinal)).Select(t => "--avm " + t.Source));
        }

        return mapping;
    }

    // The authors' checkpoints: flat or under 'model'; keys may carry module.backbone.transformer. (backbone), module. (DDP),
    // and module.avmatching_module. (their AVM).
    private static WeightMapping MapStella(IReadOnlyDictionary<string, Tensor> file, IReadOnlyCollection<string> ourNames)
    {
        var mapping = new WeightMapping([], [], []);
        var byTheirs = ourNames.ToDictionary(StellaName, n => n);
        foreach (var (key, value) in file)
        {
            var name = StripStellaPrefix(key);
            if (name == "mask_token_v" && file.Keys.Any(k => StripStellaPrefix(k) == "mask_token_a"))
            {
                var audioToken = file.First(kv => StripStellaPrefix(kv.Key) == "mask_token_a").Value;
                if (!value.shape.SequenceEqual(audioToken.shape) || !value.equal(audioToken).all().item<bool>())
                {
                    mapping.Notes.Add($"{key}: our model has one mask token for both modalities; it takes mask_token_a, this one differs and is not used");
                    continue;
                }

                mapping.Used.Add(key);
                continue;
            }

            if (!byTheirs.TryGetValue(name, out var our))
            {
                continue;
            }

            var v = our switch
            {
                "audio_embed.weight" or "video_embed.weight" => value.flatten(1),
                _ => value.alias(),
            };
            mapping.Tensors.Add(new MappedTensor(our, v, key, value.shape));
            mapping.Used.Add(key);
        }

        return mapping;
    }

    private static string StripStellaPrefix(string key)
    {
        foreach (var prefix in new[] { "module.backbone.transformer.", "backbone.transformer.", "module.avmatching_module.", "module." })
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                return prefix.Contains("avmatching", StringComparison.Ordinal) ? AuthorsAvmPrefix + key[prefix.Length..] : key[prefix.Length..];
            }
        }

        return key;
    }

    private static WeightMapping MapOurs(IReadOnlyDictionary<string, Tensor> file)
    {
        var mapping = new WeightMapping([], [], []);
        foreach (var (key, value) in file)
        {
            mapping.Tensors.Add(new MappedTensor(key, value.alias(), key, value.shape));
            mapping.Used.Add(key);
        }

        return mapping;
    }

    // facebookresearch/mae, mapped as G-JWLee/STELLA_code tools/adapt_imae_weights_to_vamae.py does (blocks 0..ModalityDepth-1 into
    // both modality stacks, the next JointDepth into the joint blocks with their norms in every LayerNorm pair, norm into the three
    // final norms, the audio kernel = the RGB kernel summed over channels, position tables without the class token repeated per
    // frame, also into the inter position embedding of video, decoder_pred rows [:P*P] as the audio head).
    private static WeightMapping MapMae(IReadOnlyDictionary<string, Tensor> file, ModelConfig config)
    {
        var mapping = new WeightMapping([], [], []);
        void Add(string ours, string key, Func<Tensor, Tensor> make)
        {
            if (file.TryGetValue(key, out var value))
            {
                mapping.Tensors.Add(new MappedTensor(ours, make(value), key, value.shape));
                mapping.Used.Add(key);
            }
        }

        Add("video_embed.weight", "patch_embed.proj.weight", k => k.flatten(1));
        Add("audio_embed.weight", "patch_embed.proj.weight", k => k.sum([1]).flatten(1));
        Add("video_embed.bias", "patch_embed.proj.bias", b => b.alias());
        Add("audio_embed.bias", "patch_embed.proj.bias", b => b.alias());
        Add("video_pos", "pos_embed", p => p[.., 1..].repeat(1, config.Frames, 1));
        Add("video_inter_pos", "pos_embed", p => p[.., 1..].repeat(1, config.Frames, 1));
        var depth = file.Keys.Where(k => k.StartsWith("blocks.", StringComparison.Ordinal)).Select(k => int.Parse(k.Split('.')[1], System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(-1).Max() + 1;
        foreach (var key in file.Keys.Where(k => k.StartsWith("blocks.", StringComparison.Ordinal)))
        {
            var parts = key.Split('.', 3);
            var i = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
            var rest = parts[2];
            if (i < config.ModalityDepth)
            {
                Add($"audio_blocks.{i}.{rest}", key, t => t.alias());
                Add($"video_blocks.{i}.{rest}", key, t => t.alias());
            }
            else if (i - config.ModalityDepth < config.JointDepth)
            {
                var j = i - config.ModalityDepth;
                Add($"joint_blocks.{j}.{rest}", key, t => t.alias());
                if (rest.StartsWith("norm1.", StringComparison.Ordinal) || rest.StartsWith("norm2.", StringComparison.Ordinal))
                {
                    var (n, p) = (rest[..5], rest[6..]);
                    Add($"joint_blocks.{j}.{n}_a.{p}", key, t => t.alias());
                    Add($"joint_blocks.{j}.{n}_v.{p}", key, t => t.alias());
                }
            }
        }

        if (depth > config.ModalityDepth + config.JointDepth)
        {
            mapping.Notes.Add($"the file has {depth} encoder blocks; our model takes {config.ModalityDepth} modality + {config.JointDepth} joint blocks");
        }

        foreach (var norm in new[] { "norm", "norm_a", "norm_v" })
        {
            Add($"{norm}.weight", "norm.weight", t => t.alias());
            Add($"{norm}.bias", "norm.bias", t => t.alias());
        }

        Add("decoder_embed.weight", "decoder_embed.weight", t => t.alias());
        Add("decoder_embed.bias", "decoder_embed.bias", t => t.alias());
        Add("mask_token", "mask_token", t => t.alias());
        Add("decoder_video_pos", "decoder_pos_embed", p => p[.., 1..].repeat(1, config.Frames, 1));
        foreach (var key in file.Keys.Where(k => k.StartsWith("decoder_blocks.", StringComparison.Ordinal)))
        {
            Add(key, key, t => t.alias());
        }

        Add("decoder_norm.weight", "decoder_norm.weight", t => t.alias());
        Add("decoder_norm.bias", "decoder_norm.bias", t => t.alias());
        // MAE predicts a patch's pixels in (row, column, channel) order; our video patches are (channel, row, column).
        Add("decoder_pred_v.weight", "decoder_pred.weight", w => ChannelsFirst(w, config.Patch));
        Add("decoder_pred_v.bias", "decoder_pred.bias", b => ChannelsFirst(b, config.Patch));
        Add("decoder_pred_a.weight", "decoder_pred.weight", w => w[..config.AudioPatchDim]);
        Add("decoder_pred_a.bias", "decoder_pred.bias", b => b[..config.AudioPatchDim]);
        if (file.ContainsKey("patch_embed.proj.weight"))
        {
            mapping.Notes.Add("MAE has no audio position, modality or audio decoder embeddings: those stay at our initialisation (the authors' script leaves them zero)");
        }

        if (!file.ContainsKey("decoder_embed.weight"))
        {
            mapping.Notes.Add("encoder-only MAE file: the decoder stays at our initialisation (the _full checkpoint carries one)");
        }

        return mapping;
    }

    // YuanGongND/cav-mae: module. prefix, 11 modality blocks + 1 joint block, a one-frame pos_embed_v, audio fed as (freq, time):
    // frequency-major tokens and (freq, time) patch values, both reordered to our time-major layout.
    private static WeightMapping MapCavMae(IReadOnlyDictionary<string, Tensor> raw, ModelConfig config)
    {
        var file = raw.ToDictionary(kv => kv.Key.StartsWith("module.", StringComparison.Ordinal) ? kv.Key["module.".Length..] : kv.Key, kv => kv.Value);
        var original = raw.Keys.ToDictionary(k => k.StartsWith("module.", StringComparison.Ordinal) ? k["module.".Length..] : k, k => k);
        var mapping = new WeightMapping([], [], []);
        void Add(string ours, string key, Func<Tensor, Tensor> make)
        {
            if (file.TryGetValue(key, out var value))
            {
                mapping.Tensors.Add(new MappedTensor(ours, make(value), original[key], value.shape));
                mapping.Used.Add(original[key]);
            }
        }

        var (tt, ft, p) = (config.AudioTimeTokens, config.AudioFreqTokens, config.Patch);
        Tensor TimeMajor(Tensor table) => table.reshape(table.shape[0], ft, tt, table.shape[2]).transpose(1, 2).reshape(table.shape[0], tt * ft, table.shape[2]);

        Add("audio_embed.weight", "patch_embed_a.proj.weight", k => k.transpose(2, 3).flatten(1));
        Add("audio_embed.bias", "patch_embed_a.proj.bias", b => b.alias());
        Add("video_embed.weight", "patch_embed_v.proj.weight", k => k.flatten(1));
        Add("video_embed.bias", "patch_embed_v.proj.bias", b => b.alias());
        Add("audio_pos", "pos_embed_a", TimeMajor);
        Add("video_pos", "pos_embed_v", t => t.repeat(1, config.Frames, 1));
        Add("audio_modality", "modality_a", t => t.alias());
        Add("video_modality", "modality_v", t => t.alias());
        var skipped = new SortedSet<string>();
        foreach (var key in file.Keys)
        {
            var parts = key.Split('.', 3);
            if (parts.Length == 3 && parts[0] is "blocks_a" or "blocks_v" or "blocks_u" or "decoder_blocks")
            {
                var i = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
                var (stack, limit) = parts[0] switch
                {
                    "blocks_a" => ("audio_blocks", config.ModalityDepth),
                    "blocks_v" => ("video_blocks", config.ModalityDepth),
                    "blocks_u" => ("joint_blocks", config.JointDepth),
                    _ => ("decoder_blocks", config.DecoderDepth),
                };
                if (i < limit)
                {
                    Add($"{stack}.{i}.{parts[2]}", key, t => t.alias());
                }
                else
                {
                    skipped.Add($"{parts[0]}.{i}");
                }
            }
        }

        if (skipped.Count > 0)
        {
            mapping.Notes.Add($"blocks without a place in our model ({config.ModalityDepth} modality + {config.JointDepth} joint blocks): {string.Join(", ", skipped)}");
        }

        foreach (var norm in new[] { "norm", "norm_a", "norm_v", "decoder_norm", "decoder_embed" })
        {
            Add($"{norm}.weight", $"{norm}.weight", t => t.alias());
            Add($"{norm}.bias", $"{norm}.bias", t => t.alias());
        }

        Add("mask_token", "mask_token", t => t.alias());
        Add("decoder_audio_pos", "decoder_pos_embed_a", TimeMajor);
        Add("decoder_video_pos", "decoder_pos_embed_v", t => t.repeat(1, config.Frames, 1));
        Add("decoder_audio_modality", "decoder_modality_a", t => t.alias());
        Add("decoder_video_modality", "decoder_modality_v", t => t.alias());
        // CAV-MAE predicts audio patch values in (freq, time) order and video pixels in (row, column, channel) order.
        Add("decoder_pred_a.weight", "decoder_pred_a.weight", w => w.reshape(p, p, -1).transpose(0, 1).reshape(p * p, -1));
        Add("decoder_pred_a.bias", "decoder_pred_a.bias", b => b.reshape(p, p).t().reshape(p * p));
        Add("decoder_pred_v.weight", "decoder_pred_v.weight", w => ChannelsFirst(w, p));
        Add("decoder_pred_v.bias", "decoder_pred_v.bias", b => ChannelsFirst(b, p));
        return mapping;
    }

    // Rows (or entries) ordered (row, column, channel) -> (channel, row, column); a tensor whose first dimension is not 3 * P * P is
    // returned as is (and refused by the shape check).
    private static Tensor ChannelsFirst(Tensor t, int patch)
    {
        if (t.shape[0] != 3 * patch * patch)
        {
            return t.alias();
        }

        var rest = t.shape.Skip(1).ToArray();
        return t.reshape([patch, patch, 3, .. rest]).movedim([2L], [0L]).reshape([3 * patch * patch, .. rest]);
    }
}
