using Stella.Model.Runtime;
using Stella.Model.Weights;
using TorchSharp;
using static Stella.Cli.Tests.CliRunner;

namespace Stella.Cli.Tests;

public sealed class WeightsCommandTests
{
    private static (int Code, string Out, string Err) Stella(params string[] args) => CliRunner.Stella(args);

    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "parity", name);

    [Fact]
    public void ImportThenExport_WritesTheAuthorsFileBack_Bitwise()
    {
        var dir = TempDir();
        var weights = Path.Combine(dir, "weights");
        var (code, output, error) = Stella("weights", "import", "--from", "stella", Fixture("tiny.weights.pth"), "--model", "tiny", "--out", weights);
        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("loaded 123 tensors", lines[1]);
        Assert.Equal("stayed at initialisation: none", lines[2]);
        Assert.Equal("not used from the file: none", lines[3]);
        Assert.Equal("refused (shape mismatch): none", lines[4]);

        var exported = Path.Combine(dir, "run.pth");
        (code, output, error) = Stella("weights", "export", weights, "--out", exported);
        Assert.True(code == 0, error);
        Assert.Contains("wrote 124 tensors", output);

        TorchRuntime.Initialize();
        using var scope = torch.NewDisposeScope();
        var original = StateDictFile.Read(Fixture("tiny.weights.pth"));
        var back = StateDictFile.Read(exported);
        Assert.Equal(original.Keys.Order(), back.Keys.Order());
        Assert.All(original, kv => Assert.True(kv.Value.equal(back[kv.Key]).all().item<bool>(), kv.Key));
    }

    [Theory]
    [InlineData("legacy.pth", "mae", "a legacy (non-zip) torch.save pickle")]
    [InlineData("whole_module.pth", "mae", "holds a pickled Python object, not a state dict")]
    [InlineData("other_layout.pth", "mae", "no tensor of the mae layout in the file (its keys: fc.bias, fc.weight)")]
    public void BadFile_IsOneErrorLine(string file, string from, string expected)
    {
        var (code, _, error) = Stella("weights", "import", "--from", from, Fixture(file), "--model", "tiny", "--out", TempDir());
        Assert.Equal(2, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: {Fixture(file)}: {expected}", line);
    }
}
