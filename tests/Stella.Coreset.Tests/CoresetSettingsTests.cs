using Stella.Core;
using Stella.Core.Arrays;
using Stella.Coreset;

namespace Stella.Coreset.Tests;

public sealed class CoresetSettingsTests
{
    static CoresetSettingsTests() => Stella.Model.Runtime.TorchRuntime.Initialize();

    private static string Features(int n, int d)
    {
        var dir = Stella.Tests.Shared.TestTemp.Dir();
        var rng = new Random(5);
        var path = Path.Combine(dir, "features.npy");
        Npy.Write(path, Enumerable.Range(0, n * d).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray(), n, d);
        return path;
    }

    [Fact]
    public void Run_LayersThatDoNotDivideTheWidth_FailBeforeAnyClustering()
    {
        // 2 layers x [video || audio] of 6: D = 24, which 5 layer blocks of two halves cannot split.
        var features = Features(40, 24);
        var log = new List<string>();
        var settings = new CoresetSettings { Features = features, Out = Path.Combine(Path.GetDirectoryName(features)!, "out"), Clusters = 4, Coincide = new() { Layers = 5 } };

        var e = Assert.Throws<UserInputException>(() => CoresetJob.Run(settings, log.Add));

        Assert.StartsWith("--layers 5: transferability 'reference' needs D divisible into 5 layer blocks of two halves (D = 24)", e.Message);
        Assert.DoesNotContain(log, l => l.Contains("k-means", StringComparison.Ordinal));
        Assert.False(Directory.Exists(settings.Out));
    }

    [Fact]
    public void Run_LayersThatDivideTheWidth_Select()
    {
        var features = Features(40, 24);
        var settings = new CoresetSettings { Features = features, Out = Path.Combine(Path.GetDirectoryName(features)!, "out"), Clusters = 4, Coincide = new() { Layers = 2 } };

        CoresetJob.Run(settings, _ => { });

        using var indices = File.OpenRead(Path.Combine(settings.Out, "indices.npy"));
        Assert.Equal([8L], Npy.ReadHeader(indices, "indices.npy").Shape);
    }

    [Fact]
    public void Run_ThesisTransfer_IgnoresTheLayerBlocks()
    {
        var features = Features(40, 24);
        var settings = new CoresetSettings
        {
            Features = features, Out = Path.Combine(Path.GetDirectoryName(features)!, "out"), Clusters = 4, Coincide = new() { Layers = 5, Transfer = TransferMode.Thesis },
        };

        CoresetJob.Run(settings, _ => { });

        Assert.True(File.Exists(Path.Combine(settings.Out, "indices.npy")));
    }
}
