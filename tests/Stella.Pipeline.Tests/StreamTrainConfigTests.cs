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
        Assert.Equal((4, 3, 20, 5, 6.0), (synth.Tasks, synth.ClassesPerTask, synth.TrainPerClass, synth.EvalPerClass, synth.Seconds));
        Assert.Equal(128, synth.FrameSize);
    }

    [Fact]
    public void Load_TypoInAKey_NamesFileAndLine()
    {
        var path = Path.Combine(Path.GetTempPath(), $"stella-config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "name: x\nmethod: stella\nbatch_sise: 4\n");
        var e = Assert.Throws<ArgumentException>(() => StreamTrainConfig.Load(path));
        Assert.StartsWith($"{path}:3:", e.Message);
        Assert.Contains("batch_sise", e.Message);
    }
}
