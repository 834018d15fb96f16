using Stella.Media.Synth;
using Stella.Model;
using Stella.Model.Config;
using Stella.Model.Weights;
using Stella.Pipeline.Warmup;
using TorchSharp;

namespace Stella.Pipeline.Tests;

public sealed class WarmupTests
{
    private static readonly SynthOptions Small = new() { Tasks = 2, ClassesPerTask = 2, TrainPerClass = 4, EvalPerClass = 2, BaseClasses = 2, BasePerClass = 4, Seconds = 5, Seed = 5 };

    private static async Task<StreamTrainConfig> ConfigAsync(string warmup, string? cache = null)
    {
        var data = await TestData.SynthAsync(Small);
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "job.yaml");
        File.WriteAllText(path,
            $"name: w\nmanifest: {Path.Combine(data, "manifest.csv")}\nmethod: stella\nbatch_size: 4\nprobe_per_class: 0\nworkers: 2\nlearning_rate: 0.001\n" +
            $"warmup:\n{warmup}{(cache is null ? string.Empty : $"  cache: {cache}\n")}");
        return StreamTrainConfig.Load(path);
    }

    private static Dictionary<string, float[]> Weights(string dir, out Dictionary<string, float[]> avm)
    {
        using var trainer = new ModelTrainer(ModelConfig.Preset("tiny"), new StellaOptions { Seed = 99 });
        WeightsFolder.Load(dir, trainer.Backbone, trainer.Avm);
        avm = Values(trainer.Avm);
        return Values(trainer.Backbone);
    }

    private static Dictionary<string, float[]> Values(torch.nn.Module module) =>
        module.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().cpu().data<float>().ToArray());

    /// <summary>One uninterrupted warm-up of both phases (2 epochs, then 1 of the AVM), shared by the tests that read it.</summary>
    private static readonly Lazy<Task<(WarmupJob Job, StreamTrainConfig Config, string Weights)>> Whole = new(async () =>
    {
        var config = await ConfigAsync("  epochs: 2\n  avm_epochs: 1\n");
        var job = new WarmupJob(config, TestData.TempDir(), _ => { });
        return (job, config, await job.RunAsync(CancellationToken.None));
    });

    [Fact]
    public async Task Pretrain_TrainsTheBackboneThenTheAvmAlone_AndWritesWeightsThatInitLoads_AndAnotherModelRefuses()
    {
        var (job, config, weights) = await Whole.Value;

        Assert.Equal(job.WeightsDir, weights);
        Assert.Equal("tiny", WeightsFolder.RecordedModel(weights));
        // Phase (1) trained on the 8 warm-up clips, twice: 16 clips, never a task's clip.
        var backboneRun = Stella.Pipeline.RunResults.Read(Path.Combine(job.BackboneDir, "results.json"));
        Assert.Equal("multitask", backboneRun.Method);
        Assert.Equal(16, backboneRun.Efficiency.TrainClips);
        var avmRun = Stella.Pipeline.RunResults.Read(Path.Combine(job.AvmDir!, "results.json"));
        Assert.Equal("avm-only", avmRun.Method);
        Assert.Equal(8, avmRun.Efficiency.TrainClips);

        // The backbone moved away from the seed's initialisation in (1); in (2) only the AVM moved: the backbone is frozen.
        using (var fresh = new ModelTrainer(ModelConfig.Preset("tiny"), new StellaOptions { Seed = (ulong)config.Seed }))
        {
            var start = Values(fresh.Backbone);
            var afterBackbone = Weights(job.BackboneDir, out var avmAfterBackbone);
            var final = Weights(weights, out var avmFinal);
            Assert.Contains(start.Keys, k => !start[k].SequenceEqual(afterBackbone[k]));
            Assert.All(afterBackbone.Keys, k => Assert.Equal(afterBackbone[k], final[k]));
            Assert.Contains(avmFinal.Keys, k => !avmFinal[k].SequenceEqual(avmAfterBackbone[k]));
        }

        // init: takes the folder; a model of another size refuses it by name.
        using (var trainer = new ModelTrainer(ModelConfig.Preset("tiny"), new StellaOptions { Seed = 1 }))
        {
            var log = new List<string>();
            InitWeights.Apply(trainer, weights, log.Add);
            Assert.Contains(log, l => l.Contains(weights, StringComparison.Ordinal));
        }

        using (var other = new ModelTrainer(ModelConfig.Preset("base"), new StellaOptions { Seed = 1 }))
        {
            var e = Assert.Throws<Stella.Core.UserInputException>(() => InitWeights.Apply(other, weights, _ => { }));
            Assert.Contains("weights of the 'tiny' model", e.Message);
        }
    }

    [Fact]
    public async Task WarmupCache_IsReusedBySameSettings_AndAChangedSettingTrainsAnew()
    {
        var cache = TestData.TempDir();
        var config = await ConfigAsync("  epochs: 1\n", cache);
        var root = WarmupJob.CacheRoot(config, Path.Combine(TestData.TempDir(), "run"));
        Assert.Equal(cache, root);
        var first = new WarmupJob(config, root, _ => { });
        var weights = await first.RunAsync(CancellationToken.None);
        Assert.Null(first.AvmDir);
        var written = File.GetLastWriteTimeUtc(Path.Combine(weights, "backbone.bin"));

        var lines = new List<string>();
        var again = await new WarmupJob(await ConfigAsync("  epochs: 1\n", cache), root, lines.Add).RunAsync(CancellationToken.None);
        Assert.Equal(weights, again);
        Assert.Contains(lines, l => l.StartsWith("warm-up: reusing", StringComparison.Ordinal));
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(weights, "backbone.bin")));

        var changed = new WarmupJob(await ConfigAsync("  epochs: 2\n", cache), root, _ => { });
        Assert.NotEqual(first.BackboneDir, changed.BackboneDir);
        var other = await changed.RunAsync(CancellationToken.None);
        Assert.NotEqual(weights, other);
        Assert.Equal(16, Stella.Pipeline.RunResults.Read(Path.Combine(changed.BackboneDir, "results.json")).Efficiency.TrainClips);

        // The AVM phase keys on its own settings inside the backbone's folder: the backbone's warm-up is reused.
        var withAvm = new WarmupJob(await ConfigAsync("  epochs: 1\n  avm_epochs: 1\n", cache), root, lines.Add);
        Assert.Equal(first.BackboneDir, withAvm.BackboneDir);
        await withAvm.RunAsync(CancellationToken.None);
        Assert.Contains(lines, l => l.StartsWith("warm-up (backbone): done earlier", StringComparison.Ordinal));

        // A run's config hash follows the warm-up's settings, not where its cache lies.
        Assert.NotEqual((await ConfigAsync("  epochs: 1\n")).Hash(), (await ConfigAsync("  epochs: 2\n")).Hash());
    }

    [Fact]
    public async Task StreamTrain_WithAWarmupSection_StartsFromTheWarmupWeights()
    {
        var config = await ConfigAsync("  epochs: 1\n");
        config.Method = "finetune";
        var run = Path.Combine(TestData.TempDir(), "run");
        var lines = new List<string>();
        // Stopped as its warm-up begins, before the run has a folder or a checkpoint: --resume continues it (as a kill there would).
        using (var stop = new CancellationTokenSource())
        {
            var first = new StreamTrainJob(config, run, l => { if (l.Contains("warm-up (backbone): training on", StringComparison.Ordinal)) { stop.Cancel(); } });
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.RunAsync(false, stop.Token));
        }

        Assert.False(File.Exists(Path.Combine(run, "checkpoints", "LATEST")));
        await new StreamTrainJob(config, run, lines.Add).RunAsync(true, CancellationToken.None);
        Assert.Contains("--resume: the run stopped during its warm-up, before its first checkpoint: the warm-up continues from its own checkpoint, then the run starts", lines);

        var weights = new WarmupJob(config, WarmupJob.CacheRoot(config, run), _ => { }).WeightsDir;
        Assert.True(Directory.Exists(weights));
        Assert.Contains(lines, l => l.StartsWith("init: ", StringComparison.Ordinal) && l.Contains(weights, StringComparison.Ordinal));
        var results = Stella.Pipeline.RunResults.Read(Path.Combine(run, "results.json"));
        Assert.Equal(2 * 8, results.Efficiency.TrainClips);
    }

    [Fact]
    public async Task AStoppedWarmup_ContinuesFromItsCheckpoint_ToTheWeightsOfAnUninterruptedOne()
    {
        var (_, _, whole) = await Whole.Value;

        // checkpoint_every is 20 (default): stopping at step 3 of the backbone phase writes the checkpoint at the stop.
        var config = await ConfigAsync("  epochs: 2\n  avm_epochs: 1\n");
        var root = TestData.TempDir();
        using var stop = new CancellationTokenSource();
        var lines = new List<string>();
        var first = new WarmupJob(config, root, lines.Add) { AfterStep = s => { if (s == 3) { stop.Cancel(); } } };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.RunAsync(stop.Token));
        Assert.Contains(lines, l => l.Contains("run the same command again, without --resume", StringComparison.Ordinal));
        Assert.False(Directory.Exists(first.WeightsDir));

        var resumed = await new WarmupJob(config, root, lines.Add).RunAsync(CancellationToken.None);
        Assert.Contains(lines, l => l.Contains("warm-up (backbone): resuming", StringComparison.Ordinal));
        var a = Weights(whole, out var avmA);
        var b = Weights(resumed, out var avmB);
        Assert.All(a.Keys, k => Assert.Equal(a[k], b[k]));
        Assert.All(avmA.Keys, k => Assert.Equal(avmA[k], avmB[k]));
    }

    [Theory]
    [InlineData("  epoch: 2\n", "unknown key 'epoch' in 'warmup' (did you mean 'epochs'?)")]
    [InlineData("  epochs: 0\n", "warmup.epochs must be at least 1")]
    public async Task WarmupSection_BadSetting_IsRefusedByName(string warmup, string expected)
    {
        var e = await Assert.ThrowsAsync<Stella.Core.UserInputException>(() => ConfigAsync(warmup));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public async Task Warmup_WithoutBaseRows_SaysHowToMakeThem()
    {
        var data = await TestData.SynthAsync(TestData.Tiny);
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "job.yaml");
        File.WriteAllText(path, $"name: w\nmanifest: {Path.Combine(data, "manifest.csv")}\nworkers: 2\nwarmup:\n  epochs: 1\n");
        var e = await Assert.ThrowsAsync<Stella.Core.UserInputException>(() => new WarmupJob(StreamTrainConfig.Load(path), TestData.TempDir(), _ => { }).RunAsync(CancellationToken.None));
        Assert.Contains("has no warm-up rows (split 'base')", e.Message);
    }
}
