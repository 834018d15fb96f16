using Stella.Continual.Learning;
using Stella.Model;
using TorchSharp;

namespace Stella.Continual.Tests;

/// <summary>The STELLA step as production runs it: <see cref="StellaLearner"/> through the stages the stream-train graph calls.</summary>
public sealed class StellaLearnerTests
{
    [Fact]
    public void OnAFixedBatch_EachLossFalls()
    {
        using var learner = LearnerFactory.Create(
            "stella", new ModelTrainer(TinyStream.Config, new StellaOptions { LearningRate = 2e-3, Seed = 3 }), new LearnerOptions { MemoryItems = 8, Seed = 3 });
        var batch = TinyStream.Batch(0, size: 8);
        var steps = Enumerable.Range(0, 40).Select(_ => learner.Step(batch)).ToList();
        batch.Audio.Dispose();
        batch.Video.Dispose();

        Assert.All(steps.Skip(1), s => Assert.Equal(8, s.Replayed));
        foreach (var (name, f) in new (string, Func<LearnerStep, float>)[] { ("mae_a", s => s.MaeAudio), ("mae_v", s => s.MaeVideo), ("nce", s => s.Contrastive), ("avm", s => s.Avm) })
        {
            var first = steps.Take(5).Average(s => f(s));
            var last = steps.TakeLast(5).Average(s => f(s));
            Assert.True(last < first, $"{name}: {first:0.0000} -> {last:0.0000}");
        }
    }

    [Fact]
    public void SameSeed_SameSelectionsAndLosses_AnotherSeedDiffers()
    {
        List<(LearnerStep Step, long[] Audio, long[] Video)> Run(ulong seed)
        {
            using var learner = TinyStream.Learner("stella", seed: seed);
            return Enumerable.Range(0, 3).Select(k => StepKeepingSelection(learner, TinyStream.Batch(k))).ToList();
        }

        var (a, b) = (Run(9), Run(9));
        for (var s = 0; s < 3; s++)
        {
            Assert.Equal(a[s].Step, b[s].Step); // losses, AVM loss and accuracy, replay count, selection statistics
            Assert.Equal(a[s].Audio, b[s].Audio);
            Assert.Equal(a[s].Video, b[s].Video);
        }

        Assert.NotEqual(a[0].Step.MaeAudio, Run(10)[0].Step.MaeAudio);
    }

    [Fact]
    public void SelectsKappaTokens_FirstStepIsTheTopKappa_ThenTheRuleDraws()
    {
        using var learner = TinyStream.Learner("stella");
        var (kappaA, kappaV) = (learner.Trainer.AudioKappa, learner.Trainer.VideoKappa);
        Assert.Equal((32, 8), (kappaA, kappaV)); // rho 0.5 of 64 audio and 16 video tokens

        // First step, empty memory: the deterministic top kappa by importance, no correlation.
        using (var work = new StepWork(TinyStream.Batch(0), ownsBatch: true))
        {
            learner.Score(work);
            learner.Select(work);
            Assert.Null(work.Scores!.VideoCorrelation);
            Assert.Equal(new long[] { 4, kappaA }, work.SelectedAudio!.shape);
            Assert.Equal(new long[] { 4, kappaV }, work.SelectedVideo!.shape);
            using var top = work.Scores.VideoImportance.topk(kappaV, 1).indexes;
            Assert.True(work.SelectedVideo.eq(top).all().item<bool>());
            learner.Train(work);
            learner.Remember(work);
        }

        // Later steps: kappa distinct tokens of the batch, and the rows trained on are the batch's then the replay's, each with kappa tokens.
        using (var work = new StepWork(TinyStream.Batch(1), ownsBatch: true))
        {
            learner.Score(work);
            learner.Select(work);
            Assert.NotNull(work.Scores!.VideoCorrelation);
            foreach (var row in Enumerable.Range(0, 4))
            {
                Assert.Equal(kappaV, work.SelectedVideo![row].data<long>().ToArray().Distinct().Count());
                Assert.Equal(kappaA, work.SelectedAudio![row].data<long>().ToArray().Distinct().Count());
            }

            // The rule draws (Gumbel-top-k on the importance, after the RCA pruning): not the deterministic top kappa of every row.
            using var top = work.Scores.VideoImportance.topk(kappaV, 1).indexes;
            var drawn = Enumerable.Range(0, 4).Count(row =>
                !work.SelectedVideo![row].data<long>().ToArray().Order().SequenceEqual(top[row].data<long>().ToArray().Order()));
            Assert.True(drawn > 0, "every row's selection is its top kappa: the rule did not draw");

            var (audio, audioIdx, video, videoIdx) = work.Rows!.Value;
            Assert.Equal(new long[] { 8, kappaA, TinyStream.Config.AudioPatchDim }, audio.shape);
            Assert.Equal(new long[] { 8, kappaV, TinyStream.Config.VideoPatchDim }, video.shape);
            Assert.Equal(new long[] { 8, kappaA }, audioIdx.shape);
            Assert.Equal(new long[] { 8, kappaV }, videoIdx.shape);
            Assert.Equal(4, work.Replay.Count);
        }
    }

    // One step through the graph's stages, keeping the selection the step trained on.
    private static (LearnerStep Step, long[] Audio, long[] Video) StepKeepingSelection(Learner learner, StreamBatch batch)
    {
        using var work = new StepWork(batch, ownsBatch: true);
        learner.Score(work);
        learner.Select(work);
        learner.Train(work);
        learner.Remember(work);
        return (work.Result!, work.SelectedAudio!.data<long>().ToArray(), work.SelectedVideo!.data<long>().ToArray());
    }
}
