using Stella.Core;
using Stella.Core.Manifests;
using Stella.Media.Decode;
using Stella.Media.Patches;
using Stella.Media.Synth;
using Stella.Model.Config;
using Stella.Pipeline.Augment;
using Stella.Pipeline.Graph;
using Stella.Pipeline.Sources;

namespace Stella.Pipeline.Tests;

/// <summary>The training augmentations (augment: random_window, multi_scale_crop, fbank_noise, time_roll): what each does to the input, determinism, evaluation untouched, exact resume.</summary>
public sealed class AugmentTests
{
    private static readonly SynthOptions Tiny = TestData.Tiny;
    private static readonly Lazy<Task<string>> Data = new(() => TestData.SynthAsync(Tiny));
    private static readonly AugmentOptions All = new() { RandomWindow = true, MultiScaleCrop = true, FbankNoise = true, TimeRoll = true };

    static AugmentTests() => Stella.Model.Runtime.TorchRuntime.Initialize();

    private static float[] Ramp(int n, Func<int, float> value) => Enumerable.Range(0, n).Select(value).ToArray();

    [Fact]
    public void TimeRoll_IsACyclicShiftAlongTime_ByAShiftInMinusTToT()
    {
        const int time = 32, mel = 16;
        var fbank = Ramp(time * mel, i => i);
        var only = ClipAugmentation.For(new AugmentOptions { TimeRoll = true }, 5, 1, 2, "clip-a");
        var shift = only.Roll(time);
        Assert.InRange(shift, -time, time - 1);
        var rolled = only.Spectrogram(fbank, time, mel);
        for (var t = 0; t < time; t++)
        {
            var from = (((t - shift) % time) + time) % time;
            Assert.Equal(fbank.AsSpan(from * mel, mel).ToArray(), rolled.AsSpan(t * mel, mel).ToArray());
        }

        Assert.Equal(Ramp(time * mel, i => i), fbank); // the input is not changed
        // Over many clips the shifts cover both signs and stay in range.
        var shifts = Enumerable.Range(0, 200).Select(k => ClipAugmentation.For(new AugmentOptions { TimeRoll = true }, 0, 0, k, "c").Roll(time)).ToList();
        Assert.All(shifts, s => Assert.InRange(s, -time, time - 1));
        Assert.Contains(shifts, s => s < 0);
        Assert.Contains(shifts, s => s > 0);
    }

    [Fact]
    public void FbankNoise_AddsValuesInZeroToATenth_TheSameForTheSameKey()
    {
        const int time = 64, mel = 16;
        var fbank = Ramp(time * mel, i => (i % 7) - 3f);
        var options = new AugmentOptions { FbankNoise = true };
        var noisy = ClipAugmentation.For(options, 1, 0, 3, "clip-b").Spectrogram(fbank, time, mel);
        var delta = noisy.Zip(fbank, (a, b) => a - b).ToArray();
        Assert.All(delta, d => Assert.InRange(d, -1e-6f, 0.1f));
        Assert.True(delta.Max() > 0, "no noise was added");
        Assert.True(delta.Distinct().Count() > time, "the noise is not per value");
        Assert.Equal(noisy, ClipAugmentation.For(options, 1, 0, 3, "clip-b").Spectrogram(fbank, time, mel));
        Assert.NotEqual(noisy, ClipAugmentation.For(options, 1, 0, 4, "clip-b").Spectrogram(fbank, time, mel));
        Assert.NotEqual(noisy, ClipAugmentation.For(options, 2, 0, 3, "clip-b").Spectrogram(fbank, time, mel));
        Assert.NotEqual(noisy, ClipAugmentation.For(options, 1, 0, 3, "clip-c").Spectrogram(fbank, time, mel));
    }

    [Fact]
    public void MultiScaleCrop_KeepsTheShape_AndIsTheSubSquareResized()
    {
        const int frames = 2, size = 32;
        // A linear ramp in x and y per plane: bilinear resizing reproduces it exactly away from the border, so the output tells
        // where the square was and how big.
        float Value(int f, int c, int y, int x) => (f * 100) + (c * 10) + (0.5f * y) + (0.25f * x);
        var planar = new float[frames * 3 * size * size];
        for (var f = 0; f < frames; f++) for (var c = 0; c < 3; c++) for (var y = 0; y < size; y++) for (var x = 0; x < size; x++)
        {
            planar[(((f * 3) + c) * size * size) + (y * size) + x] = Value(f, c, y, x);
        }

        var sides = new HashSet<int>();
        for (var epoch = 0; epoch < 30; epoch++)
        {
            var augment = ClipAugmentation.For(new AugmentOptions { MultiScaleCrop = true }, 0, 0, epoch, "clip");
            var (side, x0, y0) = augment.Crop(size);
            sides.Add(side);
            Assert.Contains(side, new[] { 32, 28, 24 });
            Assert.InRange(x0, 0, size - side);
            Assert.InRange(y0, 0, size - side);
            var cropped = augment.Frames(planar, frames, size);
            Assert.Equal(planar.Length, cropped.Length);
            var scale = side / (double)size;
            for (var f = 0; f < frames; f++) for (var c = 0; c < 3; c++) for (var y = 1; y < size - 1; y++) for (var x = 1; x < size - 1; x++)
            {
                // Output pixel centre (x + 0.5) maps to x0 + (x + 0.5) * scale - 0.5 in the source (half-pixel centres).
                var sx = x0 + ((x + 0.5) * scale) - 0.5;
                var sy = y0 + ((y + 0.5) * scale) - 0.5;
                var expected = (f * 100) + (c * 10) + (0.5 * sy) + (0.25 * sx);
                Assert.Equal(expected, cropped[(((f * 3) + c) * size * size) + (y * size) + x], 3);
            }
        }

        Assert.Equal(3, sides.Count); // every scale is drawn
        Assert.Same(planar, ClipAugmentation.For(new AugmentOptions { FbankNoise = true }, 0, 0, 0, "clip").Frames(planar, frames, size)); // crop off: untouched
    }

    [Fact]
    public void RandomWindow_TakesFramesStrideApart_FromAStartThatDependsOnTheEpoch()
    {
        const int available = 48, frameBytes = 3;
        var all = Enumerable.Range(0, available * frameBytes).Select(i => (byte)(i / frameBytes)).ToArray(); // frame k holds k
        var starts = new List<int>();
        for (var epoch = 0; epoch < 20; epoch++)
        {
            var augment = ClipAugmentation.For(All, 7, 1, epoch, "clip-w");
            var (frames, start) = augment.Window(all, available, frameBytes, 4, 8);
            Assert.InRange(start, 0, available - 25);
            Assert.Equal(new[] { 0, 8, 16, 24 }.SelectMany(o => Enumerable.Repeat((byte)(start + o), frameBytes)), frames);
            Assert.Equal(start, ClipAugmentation.For(All, 7, 1, epoch, "clip-w").Window(all, available, frameBytes, 4, 8).Start);
            starts.Add(start);
        }

        Assert.True(starts.Distinct().Count() > 5, $"the windows hardly move over epochs: {string.Join(",", starts)}");
        // A clip shorter than the window repeats its last frame, as the decoder does.
        var (shortFrames, shortStart) = ClipAugmentation.For(All, 7, 1, 0, "clip-w").Window(all.AsSpan(0, 10 * frameBytes).ToArray(), 10, frameBytes, 4, 8);
        Assert.Equal(0, shortStart);
        Assert.Equal(new byte[] { 0, 0, 0, 8, 8, 8, 9, 9, 9, 9, 9, 9 }, shortFrames);
    }

    [Fact]
    public async Task RealClip_SameEpochGivesTheSameInput_AnotherEpochAnotherWindow_TheCachedMaterialGivesWhatADecodeGives_EvaluationIsUntouched()
    {
        var data = await Data.Value;
        var manifestPath = Path.Combine(data, "manifest.csv");
        var config = new StreamTrainConfig { Manifest = manifestPath, Augment = All };
        var plain = await ClipFileSource.OpenAsync(new StreamTrainConfig { Manifest = manifestPath }, _ => { }, CancellationToken.None);
        var augmented = await ClipFileSource.OpenAsync(config, _ => { }, CancellationToken.None);
        var model = ModelConfig.Preset("tiny");
        var clip = augmented.Manifest.Split(ClipSplit.Train).First();
        var f = augmented.Featurizer!;
        ClipAugmentation Epoch(int e) => augmented.Augmentation(new ClipRequest(clip, e, clip.Task, 0, e))!;

        var first = await f.RunAsync(clip, augmented.TrainWindow(clip.Task, 0), CancellationToken.None, Epoch(0));
        var again = await f.RunAsync(clip, augmented.TrainWindow(clip.Task, 0), CancellationToken.None, Epoch(0));
        Assert.True(first.Ok, first.Detail);
        Assert.Equal(first.AudioPatches, again.AudioPatches);
        Assert.Equal(first.VideoPatches, again.VideoPatches);
        Assert.Equal(model.AudioTokens * model.AudioPatchDim, first.AudioPatches!.Length);
        Assert.Equal(model.VideoTokens * model.VideoPatchDim, first.VideoPatches!.Length);

        // The material: every frame of the 5 s clip at 8 fps and the fbank.
        var material = first.Material!;
        Assert.True(material.Decoded.Whole);
        Assert.InRange(material.Decoded.FrameCount, (Tiny.Seconds * 8) - 1, (Tiny.Seconds * 8) + 1);
        Assert.Equal(material.Decoded.FrameCount * model.FrameSize * model.FrameSize * 3, material.Decoded.Frames!.Length);
        Assert.Equal(model.AudioFrames * model.MelBins, material.Spectrogram.Length);
        Assert.Null(material.Decoded.Audio);

        // Epochs draw other windows (and other crops, noise, rolls); the first epochs of this clip are known to differ in start.
        var later = await Task.WhenAll(Enumerable.Range(1, 4).Select(e => f.RunAsync(clip, augmented.TrainWindow(clip.Task, 0), CancellationToken.None, Epoch(e))));
        Assert.Contains(later, o => o.VideoStart != first.VideoStart);
        Assert.All(later, o => Assert.NotEqual(first.VideoPatches, o.VideoPatches));
        Assert.All(later, o => Assert.NotEqual(first.AudioPatches, o.AudioPatches));

        // A later epoch made from the cached material is what decoding the clip for that epoch gives (so a resumed run matches).
        for (var e = 1; e <= 4; e++)
        {
            var fromCache = f.Patches.Run(new ClipInFlight(new ClipRequest(clip, e, clip.Task, 0, e)) { Augment = Epoch(e), Decoded = material.Decoded, Spectrogram = material.Spectrogram }).Outcome!;
            Assert.Equal(later[e - 1].AudioPatches, fromCache.AudioPatches);
            Assert.Equal(later[e - 1].VideoPatches, fromCache.VideoPatches);
            Assert.Equal(later[e - 1].VideoStart, fromCache.VideoStart);
        }

        // With only the fixed-window augmentations the audio is the plain input plus noise, rolled: undo the roll, compare.
        var noiseRoll = new AugmentOptions { FbankNoise = true, TimeRoll = true };
        var plainTrain = await plain.TrainAsync(clip, clip.Task, 0, CancellationToken.None);
        var audioOnly = await f.RunAsync(clip, augmented.TrainWindow(clip.Task, 0), CancellationToken.None, ClipAugmentation.For(noiseRoll, 0, clip.Task, 2, clip.ClipId));
        Assert.Equal(plainTrain.VideoPatches, audioOnly.VideoPatches); // same fixed window, no crop
        var shift = ClipAugmentation.For(noiseRoll, 0, clip.Task, 2, clip.ClipId).Roll(model.AudioFrames);
        var unrolled = ClipAugmentation.RollTime(Patchify.AudioInverse(audioOnly.AudioPatches!, model.AudioFrames, model.MelBins), model.AudioFrames, model.MelBins, -shift);
        var plainFbank = Patchify.AudioInverse(plainTrain.AudioPatches!, model.AudioFrames, model.MelBins);
        Assert.All(unrolled.Zip(plainFbank, (a, b) => a - b), d => Assert.InRange(d, -1e-5f, 0.1f));

        // Evaluation takes the centred window without augmentation, whatever the config says.
        foreach (var evalClip in augmented.Manifest.Split(ClipSplit.Retrieval).Take(2).Append(clip))
        {
            var a = await augmented.EvalAsync(evalClip, CancellationToken.None);
            var b = await plain.EvalAsync(evalClip, CancellationToken.None);
            Assert.Equal(b.AudioPatches, a.AudioPatches);
            Assert.Equal(b.VideoPatches, a.VideoPatches);
            Assert.Equal(b.VideoStart, a.VideoStart);
            Assert.Null(a.Material);
        }
    }

    [Fact]
    public async Task StoppedAtSeveralSteps_WithEveryAugmentationOn_ResumesToTheUninterruptedRun_AndDiffersFromTheRunWithout()
    {
        var manifest = Path.Combine(await Data.Value, "manifest.csv");
        StreamTrainConfig Config(AugmentOptions augment) => new()
        {
            Name = "augment", Manifest = manifest, Method = "stella", BatchSize = 4, CheckpointEvery = 1000, MaxQuarantineShare = 1.0, Workers = 2,
            EpochsPerTask = 2, ProbePerClass = 0, Augment = augment,
        };

        var straight = TestData.TempDir();
        await new StreamTrainJob(Config(All), straight, _ => { }).RunAsync(false, CancellationToken.None);
        var stopped = TestData.TempDir();
        var resume = false;
        foreach (var stopAt in new[] { 3L, 5 }) // mid task 0 in its second epoch, mid task 1
        {
            using var stop = new CancellationTokenSource();
            var job = new StreamTrainJob(Config(All), stopped, _ => { }) { AfterStep = s => { if (s == stopAt) { stop.Cancel(); } } };
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => job.RunAsync(resume, stop.Token));
            resume = true;
        }

        await new StreamTrainJob(Config(All), stopped, _ => { }).RunAsync(true, CancellationToken.None);
        RunAssert.Same(straight, stopped, Config(All).Hash());

        // The run without augmentations, stopped after its first step: that step's loss differs (the inputs did), so the graph
        // hands the augmentations to the featurizer. The same clips, windows and initial weights otherwise.
        var without = TestData.TempDir();
        using (var stop = new CancellationTokenSource())
        {
            var job = new StreamTrainJob(Config(new AugmentOptions()), without, _ => { }) { AfterStep = s => { if (s == 1) { stop.Cancel(); } } };
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => job.RunAsync(false, stop.Token));
        }

        static string FirstLoss(string run) =>
            System.Text.Json.JsonDocument.Parse(File.ReadLines(Path.Combine(run, "metrics.jsonl")).First(l => l.Contains("\"kind\":\"train\"", StringComparison.Ordinal)))
                .RootElement.GetProperty("loss").GetRawText();
        Assert.NotEqual(FirstLoss(without), FirstLoss(straight));
    }

    [Fact]
    public void Config_ReadsTheAugmentSection_RefusesAnUnknownKeyListingTheValidOnes_AndHashesItOnlyWhenOn()
    {
        var dir = TestData.TempDir();
        var good = Path.Combine(dir, "good.yaml");
        File.WriteAllText(good, "name: a\naugment:\n  random_window: true\n  time_roll: true\n");
        var config = StreamTrainConfig.Load(good);
        Assert.True(config.Augment is { RandomWindow: true, TimeRoll: true, MultiScaleCrop: false, FbankNoise: false });

        var bad = Path.Combine(dir, "bad.yaml");
        File.WriteAllText(bad, "name: a\naugment:\n  random_widow: true\n");
        var e = Assert.Throws<UserInputException>(() => StreamTrainConfig.Load(bad));
        Assert.Equal($"{bad}:3: unknown key 'random_widow' in 'augment' (did you mean 'random_window'?); valid keys: random_window, multi_scale_crop, fbank_noise, time_roll", e.Message);

        // Off (absent or all false) leaves the hash of the config without the section; each augmentation on changes it.
        var off = StreamTrainConfig.Load(WriteConfig(dir, "off.yaml", "augment:\n  random_window: false\n"));
        Assert.Equal(new StreamTrainConfig().Hash(), off.Hash());
        var hashes = new[] { new AugmentOptions { RandomWindow = true }, new AugmentOptions { MultiScaleCrop = true }, new AugmentOptions { FbankNoise = true }, new AugmentOptions { TimeRoll = true }, All }
            .Select(a => new StreamTrainConfig { Augment = a }.Hash()).Append(new StreamTrainConfig().Hash()).ToList();
        Assert.Equal(hashes.Count, hashes.Distinct().Count());
    }

    [Fact]
    public async Task Preprocess_OfAnAugmentedConfig_IntoVersion1PatchShards_IsRefused_TheyHoldOneWindowsPatches()
    {
        var manifest = Path.Combine(await Data.Value, "manifest.csv");
        var job = new Shards.PreprocessJob(new StreamTrainConfig { Manifest = manifest, Augment = new AugmentOptions { FbankNoise = true } }, TestData.TempDir(), 0, 1, _ => { }) { Patches = true };
        var e = await Assert.ThrowsAsync<UserInputException>(() => job.RunAsync(CancellationToken.None));
        Assert.Equal("augment (noise) needs compact shards (their training rows keep the media each epoch is made from); drop --format patches", e.Message);
    }

    [Fact]
    public async Task Compare_OfAnAugmentedConfig_TrainsFromShardsThatKeepItsMedia_AsFromTheClips()
    {
        // A fresh window and fbank noise every epoch: the shards' training rows keep every frame of each clip and its fbank, and
        // each epoch's patches are cut at replay with that epoch's draws, so the run equals the one that decodes the clips.
        var manifest = Path.Combine(await Data.Value, "manifest.csv");
        var dir = TestData.TempDir();
        var config = WriteConfig(dir, "job.yaml", $"name: t\nmanifest: {manifest}\nbatch_size: 4\nworkers: 2\nprobe_per_class: 0\nepochs_per_task: 2\naugment:\n  random_window: true\n  fbank_noise: true\n");
        await new Compare.CompareJob(config, ["finetune"], [0], dir, _ => { }).RunAsync(CancellationToken.None);
        var clipsDir = TestData.TempDir();
        await new Compare.CompareJob(config, ["finetune"], [0], clipsDir, _ => { }) { FromShards = false }.RunAsync(CancellationToken.None);

        var shardFiles = Directory.GetFiles(Path.Combine(dir, "shards"), "*.parquet", SearchOption.AllDirectories);
        Assert.NotEmpty(shardFiles);
        var source = await Shards.PatchShardSource.OpenAsync([Path.GetDirectoryName(shardFiles[0])!], Stella.Model.Config.ModelConfig.Tiny, _ => { }, CancellationToken.None);
        Assert.Equal("window,noise", source.PreparedAugment);
        var fromShards = RunResults.Read(Path.Combine(dir, "runs", "finetune-s0", "results.json"));
        var fromClips = RunResults.Read(Path.Combine(clipsDir, "runs", "finetune-s0", "results.json"));
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(fromClips.A2V), System.Text.Json.JsonSerializer.Serialize(fromShards.A2V));
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(fromClips.V2A), System.Text.Json.JsonSerializer.Serialize(fromShards.V2A));
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(fromClips.Ranks), System.Text.Json.JsonSerializer.Serialize(fromShards.Ranks));
        Assert.Equal(fromClips.ConfigHash, fromShards.ConfigHash);

        // Those shards train nothing but their own augmentation.
        var other = Assert.Throws<UserInputException>(() => source.UseAugmentation(new AugmentOptions { FbankNoise = true }, 0));
        Assert.Contains("augment (noise) needs shards preprocessed with it", other.Message);
        Assert.Contains("these were preprocessed with augment (window,noise)", other.Message);
    }

    [Fact]
    public async Task Training_FromStoredPatches_WithAugmentOn_IsRefused()
    {
        var job = new StreamTrainJob(new StreamTrainConfig { Augment = new AugmentOptions { RandomWindow = true, TimeRoll = true } }, TestData.TempDir(), _ => { }) { Source = new StoredPatches() };
        var e = await Assert.ThrowsAsync<UserInputException>(() => job.RunAsync(false, CancellationToken.None));
        Assert.Equal("augment (window,roll) needs a clip source with media (clips, or compact shards preprocessed with it)", e.Message);
    }

    /// <summary>A source of stored patches (no featurizer), as patch shards are; the job must refuse it before reading anything.</summary>
    private sealed class StoredPatches : IClipSource
    {
        public ClipManifest Manifest => throw new InvalidOperationException("read");

        public IReadOnlyDictionary<string, SynthGroundTruth> GroundTruth => throw new InvalidOperationException("read");

        public Task<ClipOutcome> TrainAsync(ClipRecord clip, int task, int index, CancellationToken ct) => throw new InvalidOperationException("read");

        public Task<ClipOutcome> EvalAsync(ClipRecord clip, CancellationToken ct) => throw new InvalidOperationException("read");
    }

    private static string WriteConfig(string dir, string name, string text)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }
}
