using Stella.Coreset;
using Stella.Media.Synth;
using Stella.Model;
using Stella.Model.Config;

namespace Stella.Pipeline.Tests;

public sealed class ExtractThenCoresetTests
{
    [Fact]
    public async Task Extract_ThenCoresetWithItsDefaultLayers_Selects()
    {
        var data = await TestData.SynthAsync(new SynthOptions { Tasks = 1, ClassesPerTask = 2, TrainPerClass = 3, EvalPerClass = 1, BaseClasses = 0, Seconds = 4 });
        var run = TestData.TempDir();
        using (var trainer = new ModelTrainer(ModelConfig.Tiny))
        {
            trainer.SaveState(Path.Combine(run, "checkpoints", "step-00000000"));
        }

        await File.WriteAllTextAsync(Path.Combine(run, "checkpoints", "LATEST"), "step-00000000");
        var features = Path.Combine(run, "features.npy");

        Assert.Equal(6, await new ExtractJob(run, Path.Combine(data, "manifest.csv"), features, "tiny", null, _ => { }).RunAsync(CancellationToken.None));

        // All tiny blocks (2 modality + 1 joint), each [video || audio] of 2 x 128: 768 wide, which coreset's old default of 5 blocks cannot split.
        var tiny = ModelConfig.Tiny;
        var blocks = tiny.ModalityDepth + tiny.JointDepth;
        var metadata = ExtractMetadata.Read(features)!;
        Assert.Equal((blocks, 2 * blocks * tiny.Dim), (metadata.LayerBlocks, metadata.Width));
        Assert.NotEqual(0, metadata.Width % (2 * new CoincideOptions().Layers));
        var (layers, source) = ExtractMetadata.CoresetLayers(features);
        Assert.Equal((blocks, features + ".extract.json"), (layers, source));

        var out_ = Path.Combine(run, "coreset");
        CoresetJob.Run(new CoresetSettings { Features = features, Out = out_, Clusters = 2, Coincide = new CoincideOptions { Layers = layers } }, _ => { });
        Assert.True(File.Exists(Path.Combine(out_, "indices.npy")));
    }

    [Fact]
    public void CoresetLayers_FeaturesFromElsewhere_KeepTheAuthorsDefault()
    {
        var features = Path.Combine(TestData.TempDir(), "theirs.npy");
        Assert.Equal(5, ExtractMetadata.CoresetLayers(features).Layers);
        Assert.Null(ExtractMetadata.Read(features));
    }
}
