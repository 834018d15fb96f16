using System.Text.Json;
using Stella.Media.Patches;
using Stella.Model.Config;
using Stella.Model.Runtime;
using Stella.Model.Weights;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Model.Tests;

/// <summary>
/// The backbone and AVM against the PyTorch reference of tools/parity/make_parity_fixtures.py: weights imported through the
/// stella import path, the same inputs patchified by production code, every output within 1e-4 of PyTorch's (float64) values.
/// </summary>
public sealed class ParityTests
{
    private const double Tolerance = 1e-4;

    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public ParityTests(Xunit.Abstractions.ITestOutputHelper output)
    {
        TorchRuntime.Initialize();
        _output = output;
    }

    /// <summary>The fixtures' base-width config: the base preset's widths and heads, one block per stack, short inputs.</summary>
    public static readonly ModelConfig BaseWidth = new()
    {
        Name = "base-width", Dim = 768, Heads = 12, ModalityDepth = 1, JointDepth = 1, DecoderDim = 512, DecoderDepth = 1, DecoderHeads = 16,
        AvmHeads = 12, AudioFrames = 64, FrameSize = 32,
    };

    internal static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "parity", name);

    [Fact]
    public void HashedWeights_ReproduceTheFileWrittenByPyTorch_Bitwise()
    {
        using var scope = torch.NewDisposeScope();
        var file = StateDictFile.Read(Fixture("tiny.weights.pth"));
        var hashed = HashedWeights.FromManifest(Fixture("tiny.weights.json"));
        Assert.Equal(hashed.Count + 1, file.Count); // + mask_token_v, a copy of mask_token_a
        foreach (var (name, t) in hashed)
        {
            Assert.True(t.equal(file[name]).all().item<bool>(), name);
        }
    }

    [Theory]
    [InlineData("tiny")]
    [InlineData("base-width")]
    public void ImportedWeights_MatchPyTorch(string name)
    {
        var config = name == "tiny" ? ModelConfig.Tiny : BaseWidth;
        using var trainer = new ModelTrainer(config);
        using var scope = torch.NewDisposeScope();
        var weightsPath = Fixture("tiny.weights.pth");
        var temp = Path.Combine(Path.GetTempPath(), $"stella-parity-{Guid.NewGuid():N}.pth");
        if (name != "tiny")
        {
            // 32 M values: regenerated from the committed manifest (the script's hash) and written by our writer.
            var hashed = HashedWeights.FromManifest(Fixture($"{name}.weights.json"));
            hashed["mask_token_v"] = hashed["mask_token_a"];
            StateDictFile.Write(temp, hashed);
            weightsPath = temp;
        }

        try
        {
            var report = WeightImport.Apply(trainer.Backbone, trainer.Avm, WeightSource.Stella, StateDictFile.Read(weightsPath));
            Assert.Empty(report.StayedAtInit);
            Assert.Empty(report.Unused);
            Assert.Empty(report.Refused);
            Assert.True(trainer.Backbone.InterPositionLearned);
        }
        finally
        {
            File.Delete(temp);
        }

        var io = StateDictFile.Read(Fixture($"{name}.io.pth"));
        var (audio, video) = Patches(io["spectrogram"], io["frames"], config);
        using (torch.no_grad())
        {
            var encoding = trainer.Backbone.Encode(audio, video);
            Close(io["joint_audio"], encoding.JointAudio, "joint_audio");
            Close(io["joint_video"], encoding.JointVideo, "joint_video");
            Close(io["pooled_audio"], encoding.PooledAudio, "pooled_audio");
            Close(io["pooled_video"], encoding.PooledVideo, "pooled_video");

            var avm = trainer.Avm.forward(encoding.JointAudio, encoding.JointVideo);
            Close(io["avm_audio_to_video"], avm.AudioToVideo, "avm_audio_to_video");
            Close(io["avm_video_to_audio"], avm.VideoToAudio, "avm_video_to_audio");
            Close(io["avm_logit"], avm.Logit, "avm_logit");
            Close(io["importance_audio"], Scoring.AudioImportance(avm), "importance_audio");
            Close(io["importance_video"], Scoring.VideoImportance(avm), "importance_video");

            var b = audio.shape[0];
            var output = trainer.Backbone.Pretrain(
                audio, Modules.Backbone.AllIndices(b, config.AudioTokens, audio.device), video, Modules.Backbone.AllIndices(b, config.VideoTokens, video.device),
                io["audio_shuffle"], io["video_shuffle"]);
            Close(io["mae_audio"], output.MaeAudio.reshape(1), "mae_audio");
            Close(io["mae_video"], output.MaeVideo.reshape(1), "mae_video");
            Close(io["contrastive"], output.Contrastive.reshape(1), "contrastive");
            Close(io["masked_pooled_audio"], output.PooledAudio, "masked_pooled_audio");
            Close(io["masked_pooled_video"], output.PooledVideo, "masked_pooled_video");
        }
    }

    /// <summary>Production patchify of the fixture's spectrograms [B, T, F] and frames [B, 4, 3, H, W].</summary>
    internal static (Tensor Audio, Tensor Video) Patches(Tensor spectrogram, Tensor frames, ModelConfig c)
    {
        var b = (int)spectrogram.shape[0];
        var audio = new List<float>();
        var video = new List<float>();
        for (var i = 0; i < b; i++)
        {
            audio.AddRange(Patchify.Audio(spectrogram[i].contiguous().data<float>().ToArray(), c.AudioFrames, c.MelBins, c.Patch));
            video.AddRange(Patchify.Video(frames[i].contiguous().data<float>().ToArray(), c.Frames, 3, c.FrameSize, c.FrameSize, c.Patch));
        }

        return (torch.tensor(audio.ToArray(), [b, c.AudioTokens, c.AudioPatchDim]), torch.tensor(video.ToArray(), [b, c.VideoTokens, c.VideoPatchDim]));
    }

    private void Close(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        var diff = (expected - actual).abs().max().item<float>();
        _output.WriteLine($"{what}: max |ours - PyTorch| = {diff:g3} (largest |value| {expected.abs().max().item<float>():g3})");
        // 1e-4 absolute, and relative to the output's scale where that is below 1 (importance values are ~1/L).
        var bound = Tolerance * Math.Min(1.0, expected.abs().max().item<float>());
        Assert.True(diff <= bound, $"{what}: max |ours - PyTorch| = {diff:g3} > {bound:g3}");
    }
}

/// <summary>
/// The weights of tools/parity/make_parity_fixtures.py: uniform values from a 32-bit mix of (FNV-1a of the name, element index),
/// the same integer steps and the same float32 operations as its <c>hashed</c>, so both sides hold bitwise the same values.
/// </summary>
internal static class HashedWeights
{
    private sealed record Entry(string Name, long[] Shape, int Scale_log2, double Offset);

    public static Dictionary<string, Tensor> FromManifest(string path)
    {
        var entries = JsonSerializer.Deserialize<List<Entry>>(File.ReadAllText(path), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
        return entries.ToDictionary(e => e.Name, e => Make(e.Name, e.Shape, e.Scale_log2, (float)e.Offset));
    }

    public static Tensor Make(string name, long[] shape, int scaleLog2, float offset)
    {
        var n = shape.Aggregate(1L, (a, s) => a * s);
        var values = new float[n];
        var seed = Fnv1a(name);
        var scale = (float)Math.Pow(2, scaleLog2 - 23);
        for (var i = 0L; i < n; i++)
        {
            var x = unchecked((uint)((ulong)i * 0x9E3779B1UL) + seed);
            x ^= x >> 16;
            x = unchecked(x * 0x7FEB352DU);
            x ^= x >> 15;
            x = unchecked(x * 0x846CA68BU);
            x ^= x >> 16;
            var u = (float)((int)(x >> 8) - (1 << 23));
            values[i] = (u * scale) + offset;
        }

        return torch.tensor(values, shape);
    }

    private static uint Fnv1a(string name)
    {
        var h = 0x811C9DC5U;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(name))
        {
            h = unchecked((h ^ b) * 0x01000193U);
        }

        return h;
    }
}
