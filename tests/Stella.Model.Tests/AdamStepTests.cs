using Stella.Model.Modules;
using Stella.Model.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Stella.Model.Tests;

public sealed class AdamStepTests
{
    public AdamStepTests() => TorchRuntime.Initialize();

    [Theory]
    [InlineData(5e-7, false)]
    [InlineData(0.0, false)]
    [InlineData(1e-2, true)]
    public void Run_GivesTheLibrarysAdamStep_Bitwise_WeightsAndSavedState(double weightDecay, bool amsgrad)
    {
        var dir = Path.Combine(Path.GetTempPath(), "stella-adam-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var saved = new List<byte[]>();
            float[]? initial = null;
            var weights = new List<List<float[]>>();
            foreach (var ours in new[] { false, true })
            {
                torch.manual_seed(11);
                using var backbone = new Backbone(Micro.Config);
                using var optimizer = optim.Adam(backbone.parameters(), 1e-3, 0.95, 0.999, 1e-8, weightDecay, amsgrad);
                using var generator = new Generator(3);
                initial ??= backbone.parameters().First().detach().data<float>().ToArray();
                var (audio, video) = Micro.Batch(4, 2);
                for (var step = 0; step < 4; step++)
                {
                    using var scope = NewDisposeScope();
                    var b = audio.shape[0];
                    var output = backbone.Pretrain(
                        audio, Backbone.AllIndices(b, Micro.Config.AudioTokens, CPU), video, Backbone.AllIndices(b, Micro.Config.VideoTokens, CPU), generator);
                    optimizer.zero_grad();
                    output.MaeAudio.Plus(output.MaeVideo).Plus(output.Contrastive).backward();
                    if (ours)
                    {
                        AdamStep.Run(optimizer);
                    }
                    else
                    {
                        optimizer.step();
                    }
                }

                // The frozen inter-position tables have no gradient: skipped by both, as their step counts in the file show.
                Assert.Contains(backbone.parameters(), p => !p.requires_grad);
                weights.Add(backbone.parameters().Select(p => p.detach().data<float>().ToArray()).ToList());
                var file = Path.Combine(dir, ours ? "ours.bin" : "library.bin");
                optimizer.save_state_dict(file);
                saved.Add(File.ReadAllBytes(file));
            }

            Assert.Equal(weights[0].Count, weights[1].Count);
            Assert.All(weights[0].Zip(weights[1]), pair => Assert.Equal(pair.First, pair.Second));
            Assert.Equal(saved[0], saved[1]);
            Assert.NotEqual(initial, weights[0][0]); // the steps moved the weights
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
