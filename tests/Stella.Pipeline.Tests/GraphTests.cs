using System.Text.Json;
using Stella.Continual.Checkpoints;
using Stella.Continual.Learning;
using Stella.Continual.Memory;
using Stella.Core.Manifests;
using Stella.Media.Decode;
using Stella.Media.Synth;
using Stella.Model;
using Stella.Model.Config;
using Stella.Pipeline.Graph;
using TorchSharp;

namespace Stella.Pipeline.Tests;

/// <summary>The stream-train graph's stages alone, the stream cursor, failures injected at every stage, and exact resume around quarantined clips.</summary>
public sealed class GraphTests
{
    private static readonly SynthOptions Tiny = TestData.Tiny;
    private static readonly Lazy<Task<string>> Data = new(() => TestData.SynthAsync(Tiny));
    private static readonly Lazy<Task<string>> Broken = new(async () => await BrokenStream.CreateAsync(await Data.Value));

    // No periodic checkpoints: a stop writes the checkpoint of its own step; periodic saves and kills between them are proven by
    // the Cli KillAnywhere test with the real process. (A save every step cost ~0.5 s a step here.)
    private static StreamTrainConfig Config(string manifest, string method = "stella", int batch = 4) => new()
    {
        Name = "graph", Manifest = manifest, Method = method, BatchSize = batch, CheckpointEvery = 1000, MaxQuarantineShare = 1.0, Workers = 2, EpochsPerTask = 2,
        ProbePerClass = 1,
    };

    private static async Task<(ClipFeaturizer Featurizer, ClipRecord Clip, string Manifest)> Featurizer()
    {
        var data = await Data.Value;
        var manifest = Path.Combine(data, "manifest.csv");
        var clip = StellaManifestReader.Read(manifest).Split(ClipSplit.Train).First();
        return (new ClipFeaturizer(ModelConfig.Preset("tiny"), new DataRoot(data), manifest), clip, manifest);
    }

    [Fact]
    public async Task ClipStages_Alone_GiveWhatTheFeaturizerGives_AndNameTheStageTheyFailAt()
    {
        var (f, clip, _) = await Featurizer();
        var model = ModelConfig.Preset("tiny");
        var window = FrameWindow.Train(new Random(7));
        var decoded = await f.Decode.RunAsync(new ClipInFlight(new ClipRequest(clip, 0, 0, 0)), window, CancellationToken.None);
        Assert.False(decoded.Failed);
        Assert.InRange(decoded.Decoded!.Audio!.Length, 16000 * (Tiny.Seconds - 1), 16000 * (Tiny.Seconds + 1));
        Assert.Equal(decoded.Decoded.FrameCount * model.FrameSize * model.FrameSize * 3, decoded.Decoded.Frames!.Length);
        var media = decoded.Decoded; // the stages move the clip on in place and release what they used
        var spectrogram = f.Spectrogram.Run(decoded);
        var fbank = spectrogram.Spectrogram;
        Assert.Equal(model.AudioFrames * model.MelBins, spectrogram.Spectrogram!.Length);
        Assert.Null(spectrogram.Decoded!.Audio);
        var patched = f.Patches.Run(spectrogram);
        Assert.True(patched.Outcome!.Ok);
        Assert.Equal(model.AudioTokens * model.AudioPatchDim, patched.Outcome.AudioPatches!.Length);
        Assert.Equal(model.VideoTokens * model.VideoPatchDim, patched.Outcome.VideoPatches!.Length);
        Assert.Null(patched.Decoded);
        var whole = await f.RunAsync(clip, FrameWindow.Train(new Random(7)), CancellationToken.None);
        Assert.Equal(whole.AudioPatches, patched.Outcome.AudioPatches);
        Assert.Equal(whole.VideoPatches, patched.Outcome.VideoPatches);

        var missing = await f.Decode.RunAsync(new ClipInFlight(new ClipRequest(clip with { RelativePath = "clips/none.mp4" }, 0, 0, 0)), window, CancellationToken.None);
        Assert.Equal(("decode", "MissingFile"), (missing.Outcome!.Stage, missing.Outcome.Failure));
        var noAudio = f.Spectrogram.Run(new ClipInFlight(new ClipRequest(clip, 0, 0, 0)) { Decoded = null });
        Assert.Equal(("spectrogram", "Error"), (noAudio.Outcome!.Stage, noAudio.Outcome.Failure));
        var cutFrames = f.Patches.Run(new ClipInFlight(new ClipRequest(clip, 0, 0, 0)) { Decoded = media with { Frames = new byte[10] }, Spectrogram = fbank });
        Assert.Equal(("patches", "Error"), (cutFrames.Outcome!.Stage, cutFrames.Outcome.Failure));
        // A failed clip passes the later stages untouched.
        Assert.Same(missing.Outcome, f.Patches.Run(f.Spectrogram.Run(missing)).Outcome);
    }

    [Fact]
    public void BatchAndLearnerStages_Alone_RunTheLearnersStepAndKeepFailuresOnTheStep()
    {
        var model = new ModelConfig
        {
            Name = "micro", Dim = 32, Heads = 2, ModalityDepth = 1, JointDepth = 1, DecoderDim = 16, DecoderDepth = 1, DecoderHeads = 2,
            AvmHeads = 2, AudioFrames = 128, FrameSize = 32,
        };
        Learner Make() => LearnerFactory.Create("stella", new ModelTrainer(model, new StellaOptions { Seed = 4, LearningRate = 1e-3 }), new LearnerOptions { MemoryItems = 4, Seed = 4 });
        List<ClipInFlight> Clips(int k) => Enumerable.Range(0, 3).Select(i =>
        {
            var rng = new Random((k * 10) + i);
            var clip = new ClipRecord($"c{k}-{i}", "x.mp4", "dog", 0, ClipSplit.Train);
            var audio = Enumerable.Range(0, model.AudioTokens * model.AudioPatchDim).Select(_ => (float)rng.NextDouble()).ToArray();
            var video = Enumerable.Range(0, model.VideoTokens * model.VideoPatchDim).Select(_ => (float)rng.NextDouble()).ToArray();
            return new ClipInFlight(new ClipRequest(clip, (k * 3) + i, 0, i)) { Outcome = new ClipOutcome(clip, audio, video, 0, null, null) };
        }).ToList();

        using var staged = Make();
        using var whole = Make();
        var batch = new BatchStage(model, torch.CPU);
        var scoring = new LearnerStage(LearnerStage.Scoring, staged.Score);
        var selection = new LearnerStage(LearnerStage.Selection, staged.Select);
        var sink = new LearnerStage(LearnerStage.Sink, staged.Train);
        for (var k = 0; k < 3; k++)
        {
            using var step = new TrainingStep(0, Clips(k));
            Assert.Equal((k * 3) + 3, step.End);
            batch.Run(step);
            Assert.Equal([3, model.AudioTokens, model.AudioPatchDim], step.Work!.Batch.Audio.shape);
            scoring.Run(step);
            Assert.Equal(k == 0 ? 0 : 3, step.Work.Replay.Count);
            Assert.NotNull(step.Work.Scores);
            selection.Run(step);
            Assert.Equal(staged.Trainer.AudioKappa, step.Work.SelectedAudio!.shape[1]);
            Assert.Equal(3 + step.Work.Replay.Count, step.Work.Rows!.Value.Audio.shape[0]);
            sink.Run(step);
            staged.Remember(step.Work);
            Assert.Null(step.Failure);

            // The same step through Learner.Step on a twin learner: the stages are the learner's production step, split.
            using var scope = torch.NewDisposeScope();
            using var twin = new TrainingStep(0, Clips(k));
            batch.Run(twin);
            var expected = whole.Step(twin.Work!.Batch);
            Assert.Equal(expected, step.Work.Result);
        }

        Assert.Equal(whole.Memory!.Items.Select(i => (i.Slot, i.ClipId)), staged.Memory!.Items.Select(i => (i.Slot, i.ClipId)));
        Assert.Equal(3, staged.Steps);

        using var failing = new TrainingStep(0, Clips(5));
        batch.Run(failing);
        new LearnerStage(LearnerStage.Selection, _ => throw new InvalidOperationException("boom"), null).Run(failing);
        Assert.Equal(LearnerStage.Selection, failing.Failure!.Value.Stage);
        sink.Run(failing);
        Assert.Null(failing.Work!.Result);

        var wrong = Clips(6);
        wrong[1].Outcome = wrong[1].Outcome! with { VideoPatches = new float[5] };
        var e = Assert.Throws<InvalidDataException>(() => batch.Run(new TrainingStep(0, wrong)));
        Assert.Contains("clip c6-1: ", e.Message);
    }

    [Fact]
    public async Task Cursor_MovesOnlyPastCompletedSteps_AndWaitsForFailedClipsBeforeThem()
    {
        var cursor = new StreamCursor(new StreamPosition(1, 4, 20));
        cursor.Failing(6);
        cursor.Failing(9);
        Assert.True(await cursor.WhenQuarantinedBeforeAsync(6));
        var before8 = cursor.WhenQuarantinedBeforeAsync(8);
        var before12 = cursor.WhenQuarantinedBeforeAsync(12);
        Assert.False(before8.IsCompleted);
        cursor.Quarantined(6);
        Assert.True(await before8);
        Assert.False(before12.IsCompleted);
        cursor.Quarantined(9);
        Assert.True(await before12);
        Assert.Equal(new StreamPosition(1, 8, 24), cursor.Commit(8));
        Assert.Throws<InvalidOperationException>(() => cursor.Commit(7));
        Assert.Equal(new StreamPosition(2, 0, 30), cursor.EndTask(14));
        cursor.Failing(3);
        var waiting = cursor.WhenQuarantinedBeforeAsync(5);
        cursor.Abandon();
        Assert.False(await waiting);
        Assert.False(await cursor.WhenQuarantinedBeforeAsync(1));
    }

    [Fact]
    public async Task FailureInjectedAtEveryStage_QuarantinesTheClipsWithStageAndReason_AndTheRunGoesOn()
    {
        var data = await Data.Value;
        var manifest = Path.Combine(data, "manifest.csv");
        var train = StellaManifestReader.Read(manifest).Split(ClipSplit.Train).Where(c => c.Task == 0).ToList();
        // Per-clip stages fail clips 0-2 of task 0; with batches of one clip, clips 3-7 each fail at one of the learner's stages.
        var at = new Dictionary<string, string>
        {
            [train[0].ClipId] = "decode", [train[1].ClipId] = "spectrogram", [train[2].ClipId] = "patches",
        };
        var batchStages = new[] { "batch", "scoring", "selection", "sink", "memory" };
        var run = TestData.TempDir();
        var config = Config(manifest, batch: 1);
        config.EpochsPerTask = 1;
        var fired = new System.Collections.Concurrent.ConcurrentDictionary<(string, string), int>();
        var job = new StreamTrainJob(config, run, _ => { })
        {
            Fault = (stage, clip) =>
            {
                var i = train.FindIndex(c => c.ClipId == clip.ClipId);
                var expected = at.GetValueOrDefault(clip.ClipId) ?? (i is >= 3 and < 8 ? batchStages[i - 3] : null);
                if (expected == stage)
                {
                    fired[(stage, clip.ClipId)] = 1;
                    throw new InvalidOperationException($"injected at {stage}");
                }
            },
        };
        var results = await job.RunAsync(false, CancellationToken.None);

        var rows = File.ReadLines(Path.Combine(run, "quarantine.csv")).Skip(1).Select(l => l.Split(',')).ToDictionary(r => r[0].Trim('"'));
        Assert.Equal(Quarantine.Header, File.ReadLines(Path.Combine(run, "quarantine.csv")).First() + "\n");
        foreach (var (id, stage) in at)
        {
            Assert.Equal((stage, "Error"), (rows[id][4], rows[id][5]));
            Assert.Contains($"injected at {stage}", rows[id][6]);
        }

        for (var i = 3; i < 8; i++)
        {
            var row = rows[train[i].ClipId];
            Assert.Equal((batchStages[i - 3], "Error"), (row[4], row[5]));
            Assert.Contains($"injected at {batchStages[i - 3]}", row[6]);
        }

        Assert.Equal(8, rows.Count);
        Assert.Equal(8, fired.Count);
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(results));
        Assert.Equal(rows.Count, doc.RootElement.GetProperty("quarantined").GetInt32());
        // Task 0 trains on none of its 8 clips, task 1 on all 8; the failed learner steps are not counted.
        Assert.Equal(8, doc.RootElement.GetProperty("efficiency").GetProperty("train_clips").GetInt64());
        Assert.Equal(8, doc.RootElement.GetProperty("efficiency").GetProperty("steps").GetInt64());
        Assert.Equal(2, doc.RootElement.GetProperty("a2v").GetProperty("R@10").GetProperty("acc").GetArrayLength());
    }

    [Fact]
    public async Task StoppedAtSeveralSteps_WithQuarantinedClipsInTwoTasks_ResumesToTheUninterruptedRun()
    {
        var dir = await Broken.Value;
        var manifest = Path.Combine(dir, "manifest.csv");
        var straight = TestData.TempDir();
        await new StreamTrainJob(Config(manifest), straight, _ => { }).RunAsync(false, CancellationToken.None);

        // The stopped run also keeps only 1 MiB of features in memory: the second epoch of each task reads the rest back from its
        // run folder (and a stop leaves that folder behind, stale, for the continuation to clear). Not a setting of the hash.
        StreamTrainConfig Spilling()
        {
            var c = Config(manifest);
            c.EpochCacheMib = 1;
            return c;
        }

        Assert.Equal(Config(manifest).Hash(), Spilling().Hash());
        var stopped = TestData.TempDir();
        var resume = false;
        foreach (var stopAt in new[] { 2L, 4, 6 }) // mid task 0, its last step (before its evaluation), mid task 1
        {
            using var stop = new CancellationTokenSource();
            var job = new StreamTrainJob(Spilling(), stopped, _ => { }) { AfterStep = s => { if (s == stopAt) { stop.Cancel(); } } };
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => job.RunAsync(resume, stop.Token));
            Assert.Equal($"step-{stopAt:D8}", File.ReadAllText(Path.Combine(stopped, "checkpoints", "LATEST")).Trim());
            resume = true;
        }

        var lines = new List<string>();
        await new StreamTrainJob(Spilling(), stopped, lines.Add).RunAsync(true, CancellationToken.None);
        RunAssert.Same(straight, stopped, Config(manifest).Hash());
        Assert.Contains(lines, l => l.StartsWith("epoch cache: ", StringComparison.Ordinal) && l.Contains("did not fit in epoch_cache_mib (1 MiB)", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(stopped, "epoch-cache")));
        // The continuations evaluated on the clips the first job decoded and kept (the cache beside the run folders).
        Assert.Contains(lines, l => l.StartsWith("evaluation set: ", StringComparison.Ordinal) && l.Contains($"read from {Path.Combine(Path.GetDirectoryName(stopped)!, "cache", "eval")}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StoppedWhileTheProducerWaitsOnAFullDecodeQueue_WritesTheCheckpointOfThatStep()
    {
        var manifest = Path.Combine(await Data.Value, "manifest.csv");
        var config = Config(manifest, method: "er");
        config.EpochsPerTask = 8; // later epochs come from the cache: the queues fill at once and the producer waits on them
        config.CheckpointEvery = 1000;
        config.Workers = 1;
        var run = TestData.TempDir();
        using var stop = new CancellationTokenSource();
        var lines = new List<string>();
        var job = new StreamTrainJob(config, run, l => { lock (lines) { lines.Add(l); } }) { AfterStep = s => { if (s == 5) { stop.Cancel(); } } };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => job.RunAsync(false, stop.Token));
        Assert.Equal("step-00000005", File.ReadAllText(Path.Combine(run, "checkpoints", "LATEST")).Trim());
        Assert.Contains("stopped: checkpoint at step 5 written; run again with --resume to continue", lines);
    }

    [Fact]
    public async Task Resume_OfAFolderWithoutCheckpoint_IsRefused()
    {
        var manifest = Path.Combine(await Data.Value, "manifest.csv");
        var empty = TestData.TempDir();
        var e = await Assert.ThrowsAsync<Stella.Core.UserInputException>(() => new StreamTrainJob(Config(manifest), empty, _ => { }).RunAsync(true, CancellationToken.None));
        Assert.Equal($"--resume: {empty} holds no checkpoint to resume (the run stopped before its first one): run again without --resume", e.Message);
        var missing = Path.Combine(empty, "nothing");
        e = await Assert.ThrowsAsync<Stella.Core.UserInputException>(() => new StreamTrainJob(Config(manifest), missing, _ => { }).RunAsync(true, CancellationToken.None));
        Assert.Equal($"--resume: {missing} does not exist: check --out, or run without --resume to start", e.Message);
        Assert.False(Directory.Exists(missing));
    }
}

public sealed class EvaluationTests
{
    [Fact]
    public void SeenMeans_CoverTheTasksSeen_AllOfThemAfterAJointStream()
    {
        double[][] Rows(params double[] r1) => r1.Select(v => new[] { v, v + 1, v + 2 }).ToArray();
        var afterTask0 = new Evaluation(Rows(10, 20, 30), Rows(1, 2, 3), [0.5, 0.7, double.NaN], [40, null, 80], Seen: 1);
        Assert.Equal(10, afterTask0.SeenA2V(0));
        Assert.Equal(3, afterTask0.SeenV2A(2));
        Assert.Equal(0.5, afterTask0.SeenGap());
        Assert.Equal(40, afterTask0.SeenLocalization());
        // Multitask evaluates once, after the joint stream: every task has been seen (before, only task 0 was averaged).
        var joint = afterTask0 with { Seen = 3 };
        Assert.Equal(20, joint.SeenA2V(0));
        Assert.Equal(4, joint.SeenV2A(2));
        Assert.Equal(0.6, joint.SeenGap(), 12);
        Assert.Equal(60, joint.SeenLocalization());
    }
}
