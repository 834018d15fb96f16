using Stella.Pipeline;

namespace Stella.Pipeline.Tests;

public sealed class StreamTrainConfigTests
{
    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Stella.Pipeline.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository root not found");
    }

    [Fact]
    public void Load_DefaultConfig_ReadsEverySection()
    {
        var config = StreamTrainConfig.Load(Path.Combine(Root(), "pipelines", "synth.yaml"));
        Assert.Equal("stella", config.Method);
        Assert.Equal(14, config.EpochsPerTask);
        Assert.Equal(Path.Combine(Root(), "data", "synth", "manifest.csv"), config.Resolve(config.Manifest));
        var synth = Assert.IsType<Stella.Media.Synth.SynthOptions>(config.Synth);
        Assert.Equal((4, 3, 20, 17, 6.0), (synth.Tasks, synth.ClassesPerTask, synth.TrainPerClass, synth.EvalPerClass, synth.Seconds));
        Assert.Equal(128, synth.FrameSize);
    }

    /// <summary>Loads a config of <paramref name="yaml"/> that must fail; returns its path and the error.</summary>
    private static (string Path, Stella.Core.UserInputException Error) LoadBad(string yaml)
    {
        var path = Path.Combine(Path.GetTempPath(), $"stella-config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return (path, Assert.Throws<Stella.Core.UserInputException>(() => StreamTrainConfig.Load(path)));
    }

    [Fact]
    public void Load_TypoInAKey_NamesFileAndLine()
    {
        var (path, e) = LoadBad("name: x\nmethod: stella\nbatch_sise: 4\n");
        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith($"{path}:3: unknown key 'batch_sise' (did you mean 'batch_size'?); valid keys: name, manifest, data_root, synth, method, ", e.Message);
        Assert.Contains("probe_per_class", e.Message);
        Assert.DoesNotContain("not found on type", e.Message);
    }

    [Fact]
    public void Load_UnknownKeyNothingLike_ListsTheValidKeysWithoutAGuess()
    {
        var (path, e) = LoadBad("name: x\nwibble: 4\n");
        Assert.StartsWith($"{path}:2: unknown key 'wibble'; valid keys: name, ", e.Message);
    }

    [Fact]
    public void Load_UnknownKeyInTheSynthSection_ListsThatSectionsKeys()
    {
        var (path, e) = LoadBad("name: x\nsynth:\n  taks: 2\n");
        Assert.StartsWith($"{path}:3: unknown key 'taks' in 'synth' (did you mean 'tasks'?); valid keys: tasks, classes_per_task, ", e.Message);
    }

    [Fact]
    public void Load_MissingFile_IsAUserError()
    {
        var path = Path.Combine(Path.GetTempPath(), $"stella-config-{Guid.NewGuid():N}.yaml");
        Assert.Equal($"config file not found: {path}", Assert.Throws<Stella.Core.UserInputException>(() => StreamTrainConfig.Load(path)).Message);
    }

    /// <summary>Settings that cannot change a run's results: its name, parallelism, read-ahead, checkpoint cadence and when it gives up.</summary>
    private static readonly string[] NotResultSettings =
        [nameof(StreamTrainConfig.Name), nameof(StreamTrainConfig.Workers), nameof(StreamTrainConfig.PrefetchClips), nameof(StreamTrainConfig.CheckpointEvery), nameof(StreamTrainConfig.MaxQuarantineShare), nameof(StreamTrainConfig.EvalCache), nameof(StreamTrainConfig.EpochCacheMib)];

    private static object Changed(Type type, object? value) => type switch
    {
        _ when type == typeof(string) => (value as string ?? "x") + "-changed",
        _ when type == typeof(int) || type == typeof(int?) => ((int?)value ?? 3) + 1,
        _ when type == typeof(double) => (double)value! + 0.25,
        _ when type == typeof(Stella.Media.Synth.SynthOptions) => new Stella.Media.Synth.SynthOptions { Tasks = 7 },
        _ when type == typeof(Augment.AugmentOptions) => new Augment.AugmentOptions { TimeRoll = true },
        _ when type == typeof(Warmup.WarmupConfig) => new Warmup.WarmupConfig(),
        _ when type == typeof(List<int>) => new List<int> { 1, 0, 2, 3 },
        _ => throw new InvalidOperationException($"no changed value for a setting of type {type}: extend the test"),
    };

    [Fact]
    public void Hash_EverySettingThatChangesResults_ChangesIt_AndNoOtherDoes()
    {
        var settings = typeof(StreamTrainConfig).GetProperties().Where(p => p.CanWrite && p.GetSetMethod() is not null).ToList();
        Assert.Contains(settings, p => p.Name == nameof(StreamTrainConfig.ProbePerClass));
        foreach (var p in settings)
        {
            var config = new StreamTrainConfig();
            var before = config.Hash();
            p.SetValue(config, Changed(p.PropertyType, p.GetValue(config)));
            if (NotResultSettings.Contains(p.Name))
            {
                Assert.True(before == config.Hash(), $"{p.Name} cannot change results but changes the hash");
            }
            else
            {
                Assert.True(before != config.Hash(), $"{p.Name} changes results but not the hash");
            }
        }
    }

    [Fact]
    public void Hash_EveryWarmupSetting_ChangesIt_ButNotWhereItsCacheLies()
    {
        var hash = new StreamTrainConfig { Warmup = new Warmup.WarmupConfig() }.Hash();
        Warmup.WarmupConfig[] changed = [new() { Epochs = 3 }, new() { LearningRate = 0.01 }, new() { BatchSize = 2 }, new() { AvmEpochs = 1 }];
        Assert.All(changed, w => Assert.NotEqual(hash, new StreamTrainConfig { Warmup = w }.Hash()));
        Assert.Equal(hash, new StreamTrainConfig { Warmup = new Warmup.WarmupConfig { Cache = "elsewhere" } }.Hash());
        Assert.Equal(4, typeof(Warmup.WarmupConfig).GetProperties().Count(p => p.CanWrite) - 1);
    }

    [Fact]
    public void Hash_EveryRenderedBenchmarkSetting_ChangesIt_ButNotTheRenderParallelism()
    {
        var baseline = new Stella.Media.Synth.SynthOptions();
        var hash = new StreamTrainConfig { Synth = baseline }.Hash();
        foreach (var p in typeof(Stella.Media.Synth.SynthOptions).GetProperties().Where(p => p.CanWrite))
        {
            var changed = baseline with { };
            p.SetValue(changed, p.PropertyType == typeof(int) ? (object)((int)p.GetValue(baseline)! + 1) : (double)p.GetValue(baseline)! + 1);
            var other = new StreamTrainConfig { Synth = changed }.Hash();
            Assert.True(p.Name == nameof(Stella.Media.Synth.SynthOptions.Parallelism) ? other == hash : other != hash, $"synth.{p.Name}");
        }
    }
}

public sealed class RenderedBenchmarkTests
{
    [Fact]
    public void ABenchmarkRenderedWithOtherOptions_IsRefusedByNameAndNothingIsDeleted()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "synth.json");
        File.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(new Stella.Media.Synth.SynthOptions { EvalPerClass = 5, BaseClasses = 0 }));

        var e = Assert.Throws<Stella.Core.UserInputException>(() => Stella.Pipeline.Sources.ClipFileSource.RequireRenderedWith(new Stella.Media.Synth.SynthOptions(), path));

        Assert.Contains("EvalPerClass 5 (config: 17)", e.Message);
        Assert.Contains("BaseClasses 0 (config: 6)", e.Message);
        Assert.DoesNotContain("Tasks", e.Message);
        Assert.True(File.Exists(path));
        Stella.Pipeline.Sources.ClipFileSource.RequireRenderedWith(new Stella.Media.Synth.SynthOptions { EvalPerClass = 5, BaseClasses = 0, Parallelism = 1 }, path);
    }
}
