using System.Text.Json;
using Stella.Media.Synth;
using Stella.Pipeline;

namespace Stella.Pipeline.Tests;

public sealed class InitTests
{
    private static readonly SynthOptions Tiny = TestData.Tiny;

    [Fact]
    public void Hash_DependsOnInit()
    {
        var plain = new StreamTrainConfig();
        Assert.NotEqual(plain.Hash(), new StreamTrainConfig { Init = "weights/mae-base" }.Hash());
        Assert.NotEqual(new StreamTrainConfig { Init = "weights/a" }.Hash(), new StreamTrainConfig { Init = "weights/b" }.Hash());
    }

    [Fact]
    public void Load_ReadsInit_RelativeToTheConfigFile()
    {
        var dir = TestData.TempDir();
        var path = Path.Combine(dir, "job.yaml");
        File.WriteAllText(path, "name: x\ninit: ../weights/mae-base\n");
        var config = StreamTrainConfig.Load(path);
        Assert.Equal("../weights/mae-base", config.Init);
        Assert.Equal(Path.GetFullPath(Path.Combine(dir, "..", "weights", "mae-base")), config.Resolve(config.Init!));
    }

    [Fact]
    public async Task Run_WithInit_StartsFromTheOtherRunsFinalWeights()
    {
        var data = await TestData.SynthAsync(Tiny);
        var first = TestData.TempDir();
        await new StreamTrainJob(new StreamTrainConfig { Name = "a", Manifest = Path.Combine(data, "manifest.csv"), Method = "finetune", BatchSize = 4, ProbePerClass = 0, Workers = 2 }, first, _ => { })
            .RunAsync(false, CancellationToken.None);

        // The second run is stopped after its first step: what it starts from shows in the init line and in that step's loss.
        var second = TestData.TempDir();
        var lines = new List<string>();
        var config = new StreamTrainConfig { Name = "b", Manifest = Path.Combine(data, "manifest.csv"), Method = "finetune", BatchSize = 4, ProbePerClass = 0, Workers = 2, Init = first };
        using (var stop = new CancellationTokenSource())
        {
            var job = new StreamTrainJob(config, second, lines.Add) { AfterStep = s => { if (s == 1) { stop.Cancel(); } } };
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => job.RunAsync(false, stop.Token));
        }

        var latest = File.ReadAllText(Path.Combine(first, "checkpoints", "LATEST")).Trim();
        Assert.Contains(lines, l => l.StartsWith($"init: ", StringComparison.Ordinal) && l.Contains(Path.Combine(first, "checkpoints", latest), StringComparison.Ordinal));
        // Same clips, windows and seed as the first run's first step; other weights: another loss.
        static string FirstLoss(string run) =>
            JsonDocument.Parse(File.ReadLines(Path.Combine(run, "metrics.jsonl")).First(l => l.Contains("\"kind\":\"train\"", StringComparison.Ordinal))).RootElement.GetProperty("loss").GetRawText();
        Assert.NotEqual(FirstLoss(first), FirstLoss(second));
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(second, "checkpoints", "step-00000001", "checkpoint.json")));
        Assert.Equal(config.Hash(), doc.RootElement.GetProperty("config_hash").GetString());
    }
}
