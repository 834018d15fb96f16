using static Stella.Cli.Tests.CliRunner;

namespace Stella.Cli.Tests;

public sealed class CliTests
{
    private static (int Code, string Out, string Err) Stella(params string[] args) => CliRunner.Stella(args);

    [Fact]
    public void Help_ListsEveryCommand_WithAnExplanation()
    {
        var (code, output, _) = Stella("--help");
        Assert.Equal(0, code);
        foreach (var command in new[] { "synth", "inspect", "manifest" })
        {
            Assert.Matches($@"\n\s+{command}\s+\S.{{20,}}", output);
        }
    }

    [Fact]
    public void SynthHelp_ShowsOptionsAndDefaults()
    {
        var (code, output, _) = Stella("synth", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--out", "--tasks", "--classes-per-task", "--train-per-class", "--eval-per-class", "--seconds", "--seed" })
        {
            Assert.Contains(option, output);
        }

        Assert.Contains("[default: 4]", output);
    }

    [Fact]
    public void Synth_OutOfRangeOption_IsOneClearErrorLine()
    {
        var (code, _, error) = Stella("synth", "--out", TempDir(), "--tasks", "0");
        Assert.Equal(2, code);
        Assert.Equal("error: --tasks must be at least 1 (got 0)", error.Trim());
    }

    [Fact]
    public void SynthThenCheckThenInspect_ProducesTheDocumentedFiles()
    {
        var dir = TempDir();
        var data = Path.Combine(dir, "data");
        var (code, output, error) = Stella("synth", "--out", data, "--tasks", "2", "--classes-per-task", "2", "--train-per-class", "1", "--eval-per-class", "1", "--base-classes", "1", "--base-per-class", "1", "--seconds", "4");
        Assert.True(code == 0, error);
        Assert.Contains("wrote 9 clips (4 train, 4 retrieval, 1 warm-up) of 4 task classes in 2 tasks (+ 1 warm-up classes)", output);

        (code, output, error) = Stella("manifest", "check", Path.Combine(data, "manifest.csv"));
        Assert.True(code == 0, error);
        Assert.Contains("9 clips, 0 missing", output);

        var clip = Directory.GetFiles(Path.Combine(data, "clips"), "*.mp4").Order().First();
        (code, output, error) = Stella("inspect", clip, "--out", Path.Combine(dir, "inspect"));
        Assert.True(code == 0, error);
        foreach (var file in new[] { "fbank.npy", "frames.npy", "audio_patches.npy", "video_patches.npy", "spectrogram.png", "frames.png" })
        {
            Assert.True(File.Exists(Path.Combine(dir, "inspect", file)), $"{file} missing; stdout: {output}");
        }
    }

    [Fact]
    public void ManifestCheck_EscapingPath_NamesTheRow()
    {
        var dir = TempDir();
        File.WriteAllText(Path.Combine(dir, "tasks.json"), """{"benchmark": "x", "tasks": [{"index": 0, "name": "a", "classes": ["dog"]}]}""");
        File.WriteAllText(Path.Combine(dir, "manifest.csv"), "clip_id,path,label,task,split\nc1,../../etc/passwd,dog,0,train\n");
        var (code, _, error) = Stella("manifest", "check", Path.Combine(dir, "manifest.csv"));
        Assert.Equal(2, code);
        Assert.Contains("manifest.csv:2: clip path '../../etc/passwd' escapes the data root", error);
    }

    [Fact]
    public void Inspect_MissingClip_IsTypedError()
    {
        var (code, _, error) = Stella("inspect", "/nonexistent/clip.mp4", "--out", TempDir());
        Assert.Equal(2, code);
        Assert.Equal("error: MissingFile: /nonexistent/clip.mp4: file not found", error.Trim());
    }

    [Fact]
    public async Task MemoryShow_PrintsEachPicturedItem_WithItsPictures()
    {
        var dir = TempDir();
        var memory = Path.Combine(dir, "memory");
        var model = global::Stella.Model.Config.ModelConfig.Tiny;
        var items = Enumerable.Range(0, 3).Select(i => new global::Stella.Continual.Memory.MemoryItem
        {
            Slot = i, ClipId = $"clip-{i}", Task = i == 0 ? 0 : 1,
            AudioPatches = new float[model.AudioTokens * model.AudioPatchDim], VideoPatches = new float[model.VideoTokens * model.VideoPatchDim],
        }).ToList();
        await new global::Stella.Continual.Memory.ParquetMemoryStore(memory, "hash").WriteAsync(items);
        var show = Path.Combine(dir, "show");

        var (code, output, error) = Stella("memory", "show", memory, "--out", show, "--per-task", "1");

        Assert.True(code == 0, error);
        var lines = output.Split('\n');
        foreach (var (clip, name) in new[] { ("clip-0", "task0-slot00000"), ("clip-1", "task1-slot00001") })
        {
            var line = Assert.Single(lines, l => l.StartsWith(clip + " ", StringComparison.Ordinal));
            foreach (var png in new[] { $"{name}-spectrogram.png", $"{name}-frames.png" })
            {
                Assert.Contains(Path.Combine(show, png), line);
                Assert.True(File.Exists(Path.Combine(show, png)), png);
            }
        }

        Assert.DoesNotContain(lines, l => l.StartsWith("clip-2", StringComparison.Ordinal));
        Assert.DoesNotContain("![", output);
    }
}
