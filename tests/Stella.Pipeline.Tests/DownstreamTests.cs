using System.Text.Json;
using Stella.Core;
using Stella.Pipeline.Downstream;

namespace Stella.Pipeline.Tests;

public sealed class DownstreamTests
{
    static DownstreamTests() => Stella.Model.Runtime.TorchRuntime.Initialize();

    // Four classes around separate centres in 16 dimensions, 20 clips each; the test half from the same centres.
    private static (float[][] X, int[] Y) Clusters(int perClass, int seed)
    {
        var rng = new Random(seed);
        var centres = Enumerable.Range(0, 4).Select(c => Enumerable.Range(0, 16).Select(j => j % 4 == c ? 2f : 0f).ToArray()).ToArray();
        var rows = Enumerable.Range(0, 4 * perClass).Select(i => (Class: i % 4, Row: centres[i % 4].Select(v => v + (float)((rng.NextDouble() - 0.5) * 1.5)).ToArray())).ToList();
        return (rows.Select(r => r.Row).ToArray(), rows.Select(r => r.Class).ToArray());
    }

    [Fact]
    public void Mlp_OnFeaturesThatCarryTheClass_BeatsTheSameFeaturesWithShuffledLabels()
    {
        var (trainX, trainY) = Clusters(20, 1);
        var (testX, testY) = Clusters(10, 2);
        double Accuracy(int[] labels) => 100.0 * MlpClassifier.FitPredict(trainX, labels, testX, 4, seed: 3).Zip(testY).Count(p => p.First == p.Second) / testY.Length;

        var good = Accuracy(trainY);
        var rng = new Random(7);
        var shuffled = Accuracy([.. trainY.OrderBy(_ => rng.Next())]);
        var bad = Accuracy([.. trainY.Select(_ => rng.Next(4))]);
        Assert.True(good >= 95, $"separable classes: {good}%");
        Assert.True(bad <= 50 && shuffled <= 50, $"labels without the class: {bad}% and {shuffled}%");
        // Seeded: the same inputs give the same predictions.
        Assert.Equal(MlpClassifier.FitPredict(trainX, trainY, testX, 4, seed: 3), MlpClassifier.FitPredict(trainX, trainY, testX, 4, seed: 3));
    }

    [Fact]
    public void Segmentation_FromFeaturesThatEncodeTheBox_BeatsShuffledFeatures()
    {
        // 16 tokens a clip; the object covers 4 of them at a random place. Good features: an "object" direction on its tokens;
        // shuffled: the same features in another token order, so they say nothing about where the object is.
        var rng = new Random(11);
        (float[][][] X, bool[][] Mask) Clips(int n)
        {
            var x = new float[n][][];
            var mask = new bool[n][];
            for (var c = 0; c < n; c++)
            {
                var at = rng.Next(13);
                mask[c] = [.. Enumerable.Range(0, 16).Select(t => t >= at && t < at + 4)];
                x[c] = [.. Enumerable.Range(0, 16).Select(t => Enumerable.Range(0, 8).Select(j => (float)((rng.NextDouble() - 0.5) + (j == 0 && mask[c][t] ? 2 : 0))).ToArray())];
            }

            return (x, mask);
        }

        var (trainX, trainMask) = Clips(40);
        var (testX, testMask) = Clips(20);
        var (good, predicted) = SegmentationProbe.FitScore(trainX, trainMask, testX, testMask, seed: 1);
        var shuffledTrain = trainX.Select(c => c.OrderBy(_ => rng.Next()).ToArray()).ToArray();
        var shuffledTest = testX.Select(c => c.OrderBy(_ => rng.Next()).ToArray()).ToArray();
        var (bad, _) = SegmentationProbe.FitScore(shuffledTrain, trainMask, shuffledTest, testMask, seed: 1);

        Assert.Equal(20, predicted.Length);
        Assert.True(good >= 80, $"features that encode the box: mIoU {good:0.0}%");
        Assert.True(bad <= 40, $"shuffled features: mIoU {bad:0.0}%");
        Assert.Equal(1.0, SegmentationProbe.IoU([false, false], [false, false]));
        Assert.Equal(1.0 / 3, SegmentationProbe.IoU([true, true, false], [false, true, true]), 12);
    }

    [Fact]
    public async Task Downstream_OfATrainedRun_WritesItsScores_AndRefusesWhatItCannotDo()
    {
        var manifest = Path.Combine(await TestData.SynthAsync(TestData.Tiny), "manifest.csv");
        var dir = TestData.TempDir();
        var configPath = Path.Combine(dir, "job.yaml");
        await File.WriteAllTextAsync(configPath, $"name: t\nmanifest: {manifest}\nmethod: finetune\nbatch_size: 4\nworkers: 2\nprobe_per_class: 0\nepochs_per_task: 1\n");
        var run = Path.Combine(dir, "run");
        await new StreamTrainJob(StreamTrainConfig.Load(configPath), run, _ => { }).RunAsync(false, CancellationToken.None);

        var lines = new List<string>();
        var results = await new DownstreamJob(StreamTrainConfig.Load(configPath), run, ["classify", "segment"], lines.Add).RunAsync(CancellationToken.None);
        Assert.Equal(4, results.Classes);
        Assert.InRange(results.ClassifyAccuracy!.Value, 0, 100);
        Assert.Equal(2, results.ClassifyPerTask!.Count);
        Assert.InRange(results.SegmentMeanIoU!.Value, 0, 100);
        var written = JsonSerializer.Deserialize<DownstreamResults>(await File.ReadAllTextAsync(Path.Combine(run, "downstream.json")))!;
        Assert.Equal(results.ClassifyAccuracy, written.ClassifyAccuracy);
        Assert.Equal(results.SegmentMeanIoU, written.SegmentMeanIoU);
        Assert.Contains(lines, l => l.StartsWith("init: ", StringComparison.Ordinal));

        // retrieval: fine-tuned on a held-out benchmark of other classes (same renderer), then scored on its retrieval clips.
        var heldOutDir = await TestData.SynthAsync(TestData.Tiny with { ClassOffset = 8 });
        var heldOut = Path.Combine(heldOutDir, "manifest.csv");
        Assert.DoesNotContain("class_offset", await File.ReadAllTextAsync(Path.Combine(await TestData.SynthAsync(TestData.Tiny), "synth.json")), StringComparison.OrdinalIgnoreCase);
        lines.Clear();
        var tuned = await new DownstreamJob(StreamTrainConfig.Load(configPath), run, ["retrieval"], lines.Add) { HeldOut = heldOut, RetrievalEpochs = 1 }.RunAsync(CancellationToken.None);
        Assert.Equal(3, tuned.RetrievalA2V!.Count);
        Assert.All(tuned.RetrievalA2V.Concat(tuned.RetrievalV2A!), v => Assert.InRange(v, 0, 100));
        Assert.True(tuned.RetrievalA2V[0] <= tuned.RetrievalA2V[2]);
        var tunedRun = RunResults.Read(Path.Combine(run, "downstream-retrieval", "results.json"));
        Assert.Equal("multitask", tunedRun.Method);
        Assert.Contains(lines, l => l.Contains("init: ", StringComparison.Ordinal) && l.Contains(run, StringComparison.Ordinal));
        var heldOutLabels = Stella.Core.Tasks.TaskMap.Read(Path.Combine(heldOutDir, "tasks.json")).Tasks.SelectMany(t => t.Classes).ToList();
        var runLabels = Stella.Core.Tasks.TaskMap.Read(Path.Combine(Path.GetDirectoryName(manifest)!, "tasks.json")).Tasks.SelectMany(t => t.Classes).ToList();
        Assert.Equal(4, heldOutLabels.Count);
        Assert.Empty(heldOutLabels.Intersect(runLabels));
        // Each call adds its tasks: the frozen probes' scores of the first call are still there.
        var merged = JsonSerializer.Deserialize<DownstreamResults>(await File.ReadAllTextAsync(Path.Combine(run, "downstream.json")))!;
        Assert.Equal(results.ClassifyAccuracy, merged.ClassifyAccuracy);
        Assert.Equal(tuned.RetrievalA2V, merged.RetrievalA2V);
        Assert.Equal(heldOut, merged.HeldOut);
        lines.Clear();
        await new DownstreamJob(StreamTrainConfig.Load(configPath), run, ["retrieval"], lines.Add) { HeldOut = heldOut, RetrievalEpochs = 1 }.RunAsync(CancellationToken.None);
        Assert.DoesNotContain(lines, l => l.StartsWith("retrieval: fine-tuning", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("retrieval after fine-tuning", StringComparison.Ordinal));
        var stale = await Assert.ThrowsAsync<UserInputException>(() => new DownstreamJob(StreamTrainConfig.Load(configPath), run, ["retrieval"], _ => { }) { HeldOut = heldOut, RetrievalEpochs = 2 }.RunAsync(CancellationToken.None));
        Assert.Contains("was fine-tuned with other settings", stale.Message);
        var same = await Assert.ThrowsAsync<UserInputException>(() => new DownstreamJob(StreamTrainConfig.Load(configPath), run, ["retrieval"], _ => { }) { HeldOut = manifest }.RunAsync(CancellationToken.None));
        Assert.Contains("shares classes with the run's benchmark", same.Message);
        var none = await Assert.ThrowsAsync<UserInputException>(() => new DownstreamJob(StreamTrainConfig.Load(configPath), run, ["retrieval"], _ => { }).RunAsync(CancellationToken.None));
        Assert.StartsWith("retrieval needs a held-out benchmark (--heldout MANIFEST)", none.Message);

        var unknown = await Assert.ThrowsAsync<UserInputException>(() => new DownstreamJob(StreamTrainConfig.Load(configPath), run, ["retrieve"], _ => { }).RunAsync(CancellationToken.None));
        Assert.Equal("unknown downstream task 'retrieve': choose from classify, segment, retrieval", unknown.Message);
        var notARun = await Assert.ThrowsAsync<UserInputException>(() => new DownstreamJob(StreamTrainConfig.Load(configPath), dir, ["classify"], _ => { }).RunAsync(CancellationToken.None));
        Assert.Contains("is not a run folder with checkpoints", notARun.Message);
    }
    [Fact]
    public async Task Compare_WithDownstream_ScoresEachRunOnce_AndTabulatesIt()
    {
        var manifest = Path.Combine(await TestData.SynthAsync(TestData.Tiny), "manifest.csv");
        var dir = TestData.TempDir();
        var configPath = Path.Combine(dir, "job.yaml");
        await File.WriteAllTextAsync(configPath, $"name: t\nmanifest: {manifest}\nbatch_size: 4\nworkers: 2\nprobe_per_class: 0\nepochs_per_task: 1\n");
        var lines = new List<string>();
        var md = await new Compare.CompareJob(configPath, ["finetune"], [0], dir, lines.Add) { Downstream = ["classify", "segment"] }.RunAsync(CancellationToken.None);

        var scores = JsonSerializer.Deserialize<DownstreamResults>(await File.ReadAllTextAsync(Path.Combine(dir, "runs", "finetune-s0", "downstream.json")))!;
        var table = (await File.ReadAllTextAsync(md)).Split("## ").Single(s => s.StartsWith("Table 2.5", StringComparison.Ordinal));
        var row = table.Split('\n').Single(l => l.StartsWith("| finetune |", StringComparison.Ordinal)).Split('|').Select(c => c.Trim()).ToArray();
        Assert.Equal(scores.ClassifyAccuracy!.Value.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture), row[2].Trim('*'));
        Assert.Equal(scores.SegmentMeanIoU!.Value.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture), row[3].Trim('*'));

        // Again: the run and its scores are kept, nothing is measured twice.
        lines.Clear();
        await new Compare.CompareJob(configPath, ["finetune"], [0], dir, lines.Add) { Downstream = ["classify", "segment"] }.RunAsync(CancellationToken.None);
        Assert.DoesNotContain(lines, l => l.Contains("downstream:", StringComparison.Ordinal));
        var bad = await Assert.ThrowsAsync<UserInputException>(() => new Compare.CompareJob(configPath, ["finetune"], [0], dir, _ => { }) { Downstream = ["segmnt"] }.RunAsync(CancellationToken.None));
        Assert.Equal("--downstream: unknown task 'segmnt': choose from classify, segment, retrieval", bad.Message);
    }
}
