using System.Collections;
using System.Text.Json;
using Stella.Model.Config;
using Stella.Model.Modules;
using Stella.Model.Runtime;
using Stella.Model.Weights;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Stella.Model.Tests;

public sealed class WeightsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"stella-weights-{Guid.NewGuid():N}");

    public WeightsTests()
    {
        TorchRuntime.Initialize();
        Directory.CreateDirectory(_dir);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.equal(b).all().item<bool>();

    private static (Backbone Backbone, Avm Avm) Model(ModelConfig config, long seed)
    {
        torch.manual_seed(seed);
        return (new Backbone(config), new Avm(config.Dim, config.AvmHeads));
    }

    // The generated MAE-layout file: every key and shape of mae_pretrain_vit_base_full.pth (from the parity script's
    // mae_layout.json), hashed values, nested under 'model' as the real checkpoint is.
    private string MaeFile(out Dictionary<string, Tensor> tensors)
    {
        var layout = JsonSerializer.Deserialize<List<JsonElement>>(File.ReadAllText(ParityTests.Fixture("mae_layout.json")))!;
        tensors = layout.ToDictionary(
            e => e.GetProperty("name").GetString()!,
            e => HashedWeights.Make(e.GetProperty("name").GetString()!, e.GetProperty("shape").EnumerateArray().Select(s => s.GetInt64()).ToArray(), -4, 0f));
        var path = Path.Combine(_dir, "mae_pretrain_vit_base_full.pth");
        PyTorchPickler.PickleStateDict(path, new Hashtable { ["model"] = new Hashtable(tensors), ["epoch"] = 799 });
        return path;
    }

    [Fact]
    public void MaeImport_MapsTheCheckpointAsTheAuthorsAdaptScript()
    {
        using var scope = torch.NewDisposeScope();
        var path = MaeFile(out var mae);
        var (backbone, avm) = Model(ModelConfig.Base, 0);
        var ours = WeightImport.OurTensors(backbone, avm);
        var audioPosBefore = ours["audio_pos"].clone();

        var report = WeightImport.Apply(backbone, avm, WeightSource.Mae, StateDictFile.Read(path));

        // Audio kernel = the RGB kernel summed over its 3 channels; the video kernel as is (flattened (channel, row, column)).
        Assert.True(Same(ours["audio_embed.weight"], mae["patch_embed.proj.weight"].sum([1]).flatten(1)));
        Assert.True(Same(ours["video_embed.weight"], mae["patch_embed.proj.weight"].flatten(1)));
        Assert.True(Same(ours["audio_embed.bias"], mae["patch_embed.proj.bias"]));
        // Block 3 in both modality stacks; blocks 10 and 11 in the joint blocks, their norms in every LayerNorm pair.
        foreach (var stack in new[] { "audio_blocks", "video_blocks" })
        {
            Assert.True(Same(ours[$"{stack}.3.attn.qkv.weight"], mae["blocks.3.attn.qkv.weight"]));
            Assert.True(Same(ours[$"{stack}.3.mlp.fc2.bias"], mae["blocks.3.mlp.fc2.bias"]));
        }

        Assert.False(Same(ours["audio_blocks.3.attn.qkv.weight"], mae["blocks.4.attn.qkv.weight"]));
        Assert.True(Same(ours["joint_blocks.0.attn.proj.weight"], mae["blocks.10.attn.proj.weight"]));
        Assert.True(Same(ours["joint_blocks.1.mlp.fc1.weight"], mae["blocks.11.mlp.fc1.weight"]));
        foreach (var pair in new[] { "norm1", "norm1_a", "norm1_v" })
        {
            Assert.True(Same(ours[$"joint_blocks.1.{pair}.weight"], mae["blocks.11.norm1.weight"]));
        }

        foreach (var pair in new[] { "norm2", "norm2_a", "norm2_v" })
        {
            Assert.True(Same(ours[$"joint_blocks.0.{pair}.bias"], mae["blocks.10.norm2.bias"]));
        }

        foreach (var norm in new[] { "norm", "norm_a", "norm_v" })
        {
            Assert.True(Same(ours[$"{norm}.weight"], mae["norm.weight"]));
        }

        // Position tables without the class token, repeated over the 4 frames (encoder, inter-modality and decoder).
        var table = mae["pos_embed"][.., 1..];
        var decoderTable = mae["decoder_pos_embed"][.., 1..];
        for (var f = 0; f < 4; f++)
        {
            Assert.True(Same(ours["video_pos"][.., (f * 196)..((f + 1) * 196)], table));
            Assert.True(Same(ours["video_inter_pos"][.., (f * 196)..((f + 1) * 196)], table));
            Assert.True(Same(ours["decoder_video_pos"][.., (f * 196)..((f + 1) * 196)], decoderTable));
        }

        // The decoder: audio head = prediction rows [:256]; video head = all rows, (row, column, channel) -> (channel, row, column).
        Assert.True(Same(ours["decoder_pred_a.weight"], mae["decoder_pred.weight"][..256]));
        Assert.True(Same(ours["decoder_pred_v.weight"][(2 * 256) + (5 * 16) + 7], mae["decoder_pred.weight"][(((5 * 16) + 7) * 3) + 2]));
        Assert.True(Same(ours["mask_token"], mae["mask_token"]));
        Assert.True(Same(ours["decoder_blocks.7.attn.qkv.weight"], mae["decoder_blocks.7.attn.qkv.weight"]));

        // What MAE has no counterpart for stays at our initialisation, and the report says so by name.
        Assert.True(Same(ours["audio_pos"], audioPosBefore));
        Assert.Equal(["cls_token"], report.Unused);
        Assert.Empty(report.Refused);
        var expectedAtInit = new[] { "audio_pos", "audio_modality", "video_modality", "audio_inter_pos", "decoder_audio_pos", "decoder_audio_modality", "decoder_video_modality" }
            .Concat(avm.state_dict().Keys.Select(k => "avm." + k));
        Assert.Equal(expectedAtInit.Order(), report.StayedAtInit.Order());
        Assert.Equal(ours.Count - report.StayedAtInit.Count, report.Loaded);
        Assert.True(backbone.InterPositionLearned);
        backbone.Dispose();
        avm.Dispose();
    }

    [Theory]
    [InlineData("export.pth", true)]
    [InlineData("export.safetensors", true)]
    [InlineData("export.pth", false)]
    public void ImportExportImport_IsBitwiseEqual(string file, bool stellaNames)
    {
        using var scope = torch.NewDisposeScope();
        var (first, firstAvm) = Model(ModelConfig.Tiny, 1);
        var original = StateDictFile.Read(ParityTests.Fixture("tiny.weights.pth"));
        WeightImport.Apply(first, firstAvm, WeightSource.Stella, original);
        var path = Path.Combine(_dir, file);
        var written = WeightImport.Export(first, firstAvm, path, stellaNames);

        var (second, secondAvm) = Model(ModelConfig.Tiny, 2);
        var report = WeightImport.Apply(second, secondAvm, stellaNames ? WeightSource.Stella : WeightSource.Ours, StateDictFile.Read(path));
        Assert.Empty(report.StayedAtInit);
        Assert.Empty(report.Unused);
        Assert.Empty(report.Refused);
        var a = WeightImport.OurTensors(first, firstAvm);
        var b = WeightImport.OurTensors(second, secondAvm);
        Assert.Equal(a.Count, report.Loaded);
        Assert.All(a, kv => Assert.True(Same(kv.Value, b[kv.Key]), kv.Key));

        if (stellaNames)
        {
            // The export is the authors' layout: the same keys, shapes and values as the file PyTorch wrote.
            var exported = StateDictFile.Read(path);
            Assert.Equal(original.Keys.Order(), exported.Keys.Order());
            Assert.Equal(original.Count, written);
            Assert.All(original, kv => Assert.True(Same(kv.Value, exported[kv.Key]), kv.Key));
        }
    }

    [Fact]
    public void StellaImport_TakesTheAuthorsPrefixes_NestedModel_AndTheAvmFile()
    {
        using var scope = torch.NewDisposeScope();
        var original = StateDictFile.Read(ParityTests.Fixture("tiny.weights.pth"));
        var backboneKeys = original.Where(kv => !kv.Key.StartsWith(WeightLayouts.AuthorsAvmPrefix, StringComparison.Ordinal));
        var avmKeys = original.Where(kv => kv.Key.StartsWith(WeightLayouts.AuthorsAvmPrefix, StringComparison.Ordinal)).ToList();
        var checkpoint = Path.Combine(_dir, "checkpoint.pth");
        PyTorchPickler.PickleStateDict(checkpoint, new Hashtable { ["model"] = new Hashtable(backboneKeys.ToDictionary(kv => "module.backbone.transformer." + kv.Key, kv => kv.Value)) });
        var avmFile = Path.Combine(_dir, "avm.pth");
        PyTorchPickler.PickleStateDict(avmFile, new Hashtable(avmKeys.ToDictionary(kv => "module." + kv.Key, kv => kv.Value)));
        var (backbone, avm) = Model(ModelConfig.Tiny, 5);

        var report = WeightImport.Apply(backbone, avm, WeightSource.Stella, StateDictFile.Read(checkpoint), StateDictFile.Read(avmFile));

        Assert.Empty(report.StayedAtInit);
        Assert.Empty(report.Unused);
        Assert.Empty(report.Refused);
        var ours = WeightImport.OurTensors(backbone, avm);
        Assert.True(Same(ours["avm.q_v.weight"], original["avmatching_module.to_v_q.weight"]));
        Assert.True(Same(ours["avm.fc1.bias"], original["avmatching_module.matching_score.pooler.dense.bias"]));
        Assert.True(Same(ours["joint_blocks.0.norm2_v.weight"], original["blocks_u.0.norm2_v.weight"]));
    }

    [Fact]
    public void Import_NamesMissingUnusedAndMismatchedKeys()
    {
        using var scope = torch.NewDisposeScope();
        var file = StateDictFile.Read(ParityTests.Fixture("tiny.weights.pth"));
        file.Remove("blocks_a.0.mlp.fc1.bias");
        file["decoder_extra.weight"] = torch.zeros(3);
        file["norm.weight"] = torch.ones(64);
        var (backbone, avm) = Model(ModelConfig.Tiny, 0);

        var report = WeightImport.Apply(backbone, avm, WeightSource.Stella, file);

        Assert.Equal(["audio_blocks.0.mlp.fc1.bias", "norm.weight"], report.StayedAtInit.Order());
        Assert.Equal(["decoder_extra.weight"], report.Unused);
        Assert.Equal(["norm.weight [128] <- norm.weight [64]"], report.Refused);
        var lines = report.Lines().ToList();
        Assert.Equal($"loaded {file.Count - 3} tensors", lines[0]);
        Assert.Equal("stayed at initialisation (2): audio_blocks.0.mlp.fc1.bias, norm.weight", lines[1]);
        Assert.Equal("not used from the file (1): decoder_extra.weight", lines[2]);
        Assert.Equal("refused (shape mismatch) (1): norm.weight [128] <- norm.weight [64]", lines[3]);
    }

    [Theory]
    [InlineData("legacy.pth", "a legacy (non-zip) torch.save pickle")]
    [InlineData("whole_module.pth", "holds a pickled Python object, not a state dict (save model.state_dict(), not the model)")]
    public void BadFiles_GetOneLine(string name, string expected)
    {
        var path = ParityTests.Fixture(name);
        var e = Assert.Throws<Stella.Core.UserInputException>(() => StateDictFile.Read(path));
        Assert.StartsWith($"{path}: {expected}", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void FileOfAnotherLayout_AndNotAWeightsFile_GetOneLine()
    {
        using var scope = torch.NewDisposeScope();
        var (backbone, avm) = Model(ModelConfig.Tiny, 0);
        var other = StateDictFile.Read(ParityTests.Fixture("other_layout.pth"));
        var e = Assert.Throws<Stella.Core.UserInputException>(() => WeightImport.Apply(backbone, avm, WeightSource.Mae, other));
        Assert.Equal("no tensor of the mae layout in the file (its keys: fc.bias, fc.weight)", e.Message);

        var text = Path.Combine(_dir, "notes.pth");
        File.WriteAllText(text, "not weights");
        var t = Assert.Throws<Stella.Core.UserInputException>(() => StateDictFile.Read(text));
        Assert.StartsWith($"{text}: neither a torch.save zip file nor a safetensors file", t.Message);
        Assert.Throws<Stella.Core.UserInputException>(() => StateDictFile.Read(Path.Combine(_dir, "missing.pth")));
    }

    [Fact]
    public void CavMaeImport_ReordersFrequencyMajorAudioAndReportsBlocksWithoutAPlace()
    {
        using var scope = torch.NewDisposeScope();
        var c = ModelConfig.Tiny; // 32 time x 8 frequency audio tokens, 2 modality blocks, 1 joint block
        var (d, p) = (c.Dim, c.Patch);
        var file = new Dictionary<string, Tensor>
        {
            ["module.patch_embed_a.proj.weight"] = torch.randn(d, 1, p, p), // (freq, time) kernel
            ["module.pos_embed_a"] = torch.randn(1, c.AudioTokens, d),        // token f * 32 + t
            ["module.pos_embed_v"] = torch.randn(1, c.TokensPerFrame, d),     // one frame
            ["module.blocks_a.2.norm1.weight"] = torch.randn(d),            // an 11th-style block our model has no place for
            ["module.blocks_u.0.norm1_a.weight"] = torch.randn(d),
            ["module.decoder_pred_a.weight"] = torch.randn(p * p, c.DecoderDim),
        };
        var (backbone, avm) = Model(c, 0);
        var ours = WeightImport.OurTensors(backbone, avm);

        var report = WeightImport.Apply(backbone, avm, WeightSource.CavMae, file);

        var (t, f) = (5, 3);
        Assert.True(Same(ours["audio_pos"][0, (t * 8) + f], file["module.pos_embed_a"][0, (f * 32) + t]));
        var (pt, pf) = (2, 11);
        Assert.True(Same(ours["audio_embed.weight"][.., (pt * p) + pf], file["module.patch_embed_a.proj.weight"][.., 0, pf, pt]));
        Assert.True(Same(ours["decoder_pred_a.weight"][(pt * p) + pf], file["module.decoder_pred_a.weight"][(pf * p) + pt]));
        Assert.True(Same(ours["video_pos"][.., (3 * c.TokensPerFrame)..], file["module.pos_embed_v"]));
        Assert.True(Same(ours["joint_blocks.0.norm1_a.weight"], file["module.blocks_u.0.norm1_a.weight"]));
        Assert.Equal(["module.blocks_a.2.norm1.weight"], report.Unused);
        Assert.Contains(report.Notes, n => n.Contains("blocks_a.2", StringComparison.Ordinal));
        Assert.False(backbone.InterPositionLearned);
    }

    [Fact]
    public void InterPositions_AreZeroAndFrozenUntilImported_ThenTrain()
    {
        using var trainer = new ModelTrainer(Micro.Config);
        var (audio, video) = Micro.Batch(4, 1);
        var ours = WeightImport.OurTensors(trainer.Backbone, trainer.Avm);
        Assert.False(trainer.Backbone.InterPositionLearned);
        Micro.TrainAll(trainer, audio, video);
        Assert.False(WeightImport.HasValues(ours["audio_inter_pos"]));
        Assert.False(WeightImport.HasValues(ours["video_inter_pos"]));

        using (torch.no_grad())
        {
            ours["video_inter_pos"].fill_(0.01);
        }

        var dir = Path.Combine(_dir, "weights");
        WeightsFolder.Write(dir, trainer.Backbone, trainer.Avm, new WeightsInfo("micro", "test", "-", null, 0));
        using var started = new ModelTrainer(Micro.Config, new StellaOptions { Seed = 9 });
        var lines = new List<string>();
        InitWeights.Apply(started, dir, lines.Add);
        var loaded = WeightImport.OurTensors(started.Backbone, started.Avm);
        Assert.All(ours, kv => Assert.True(Same(kv.Value, loaded[kv.Key]), kv.Key));
        Assert.True(started.Backbone.InterPositionLearned);
        Assert.StartsWith($"init: {ours.Count} tensors from {dir}", lines.Single());

        using var before = loaded["audio_inter_pos"].clone();
        Micro.TrainAll(started, audio, video);
        Assert.False(Same(before, loaded["audio_inter_pos"]));
    }

    [Fact]
    public void Init_FromACheckpointFolder_LoadsWeightsOnly_AndRefusesAnotherModel()
    {
        using var source = new ModelTrainer(Micro.Config, new StellaOptions { Seed = 4 });
        var (audio, video) = Micro.Batch(4, 1);
        Micro.TrainAll(source, audio, video);
        var run = Path.Combine(_dir, "run");
        var step = Path.Combine(run, "checkpoints", "step-00000001");
        source.SaveState(step);
        File.WriteAllText(Path.Combine(run, "checkpoints", "LATEST"), "step-00000001");

        using var target = new ModelTrainer(Micro.Config);
        InitWeights.Apply(target, run, _ => { });
        var a = WeightImport.OurTensors(source.Backbone, source.Avm);
        var b = WeightImport.OurTensors(target.Backbone, target.Avm);
        Assert.All(a, kv => Assert.True(Same(kv.Value, b[kv.Key]), kv.Key));

        WeightsFolder.Write(Path.Combine(_dir, "tiny"), source.Backbone, source.Avm, new WeightsInfo("tiny", "mae", "x.pth", null, 1));
        var e = Assert.Throws<Stella.Core.UserInputException>(() => InitWeights.Apply(target, Path.Combine(_dir, "tiny"), _ => { }));
        Assert.Equal($"{Path.Combine(_dir, "tiny")}: weights of the 'tiny' model, this run builds 'micro'", e.Message);
        Assert.Throws<Stella.Core.UserInputException>(() => InitWeights.Apply(target, _dir, _ => { }));
    }
}
