using System.Diagnostics;
using System.Text.Json;
using Stella.Core.Manifests;
using Stella.Core.Tasks;

namespace Stella.Pipeline.Tests;

/// <summary>The STELLA authors' preprocessed layout as a clip source (<c>source: stella-official</c>).</summary>
public sealed class OfficialLayoutTests
{
    /// <summary>
    /// The small benchmark rendered into the authors' layout (the layout, not their data): frames/{id}/frame_{i}.jpg extracted by
    /// ffmpeg at 8 fps, 256x256 JPEG; audio/{id}.mp3 at 16 kHz (every third clip a WAV instead, to take both audio paths); their
    /// headerless CSVs (index, vid, frames_path, wav, label, category), the category being the task's name.
    /// </summary>
    private static async Task<(string Home, string TrainCsv, string RetrievalCsv, string Truth)> LayoutAsync(string data)
    {
        var home = TestData.TempDir();
        var manifest = StellaManifestReader.Read(Path.Combine(data, "manifest.csv"));
        var csv = new Dictionary<ClipSplit, List<string>> { [ClipSplit.Train] = [], [ClipSplit.Retrieval] = [] };
        foreach (var (clip, i) in manifest.Clips.Where(c => csv.ContainsKey(c.Split)).Select((c, i) => (c, i)))
        {
            var frames = Directory.CreateDirectory(Path.Combine(home, "frames", clip.ClipId)).FullName;
            var audio = Path.Combine("audio", clip.ClipId + (i % 3 == 0 ? ".wav" : ".mp3"));
            Directory.CreateDirectory(Path.Combine(home, "audio"));
            var source = Path.Combine(data, clip.RelativePath);
            // One ffmpeg run, two outputs: the frames, then the audio.
            await FfmpegAsync("-i", source, "-vf", "fps=8,scale=256:256", "-start_number", "0", "-q:v", "3", Path.Combine(frames, "frame_%d.jpg"), "-vn", "-ar", "16000", "-ac", "1", Path.Combine(home, audio));
            csv[clip.Split].Add($"{i},{clip.ClipId},frames/{clip.ClipId},{audio},{clip.Label},{manifest.Tasks.Tasks[clip.Task].Name}");
        }

        var train = Path.Combine(home, "vgg_train.csv");
        var retrieval = Path.Combine(home, "vgg_retrieval.csv");
        await File.WriteAllLinesAsync(train, csv[ClipSplit.Train]);
        await File.WriteAllLinesAsync(retrieval, csv[ClipSplit.Retrieval]);
        return (home, train, retrieval, Path.Combine(data, "ground_truth.jsonl"));
    }

    private static async Task FfmpegAsync(params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo("ffmpeg", ["-nostdin", "-loglevel", "error", "-y", .. args]) { RedirectStandardError = true })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, error);
    }

    [Fact]
    public async Task StreamTrain_FromTheAuthorsLayout_Trains_AndQuarantinesBadItemsWithTheirReasons()
    {
        var data = await TestData.SynthAsync(TestData.Tiny);
        var (home, trainCsv, retrievalCsv, truth) = await LayoutAsync(data);

        // The manifest: tasks are the categories in the training CSV's order; paths stay relative to the data home.
        var read = StellaOfficialManifestReader.Read(trainCsv, retrievalCsv);
        Assert.Empty(read.LeftOut);
        Assert.Equal(["task0", "task1"], read.Manifest.Tasks.Tasks.Select(t => t.Name));
        Assert.Equal(16, read.Manifest.Split(ClipSplit.Train).Count());
        Assert.All(read.Manifest.Clips, c => Assert.Equal($"frames/{c.ClipId}", c.RelativePath));
        var dir = TestData.TempDir();
        StellaManifestWriter.Write(Path.Combine(dir, "manifest.csv"), read.Manifest.Clips);
        TaskMap.Write(Path.Combine(dir, "tasks.json"), read.Manifest.Tasks.Benchmark, read.Manifest.Tasks.Tasks);
        File.Copy(truth, Path.Combine(dir, "ground_truth.jsonl"));
        // Written with its audio column and read back the same (rows are the CSVs' lines there, the manifest's here).
        Assert.Equal(read.Manifest.Clips.Select(c => c with { Row = 0 }), StellaManifestReader.Read(Path.Combine(dir, "manifest.csv")).Clips.Select(c => c with { Row = 0 }));

        // Three bad training items: a missing frame and a short audio file in task 0, unreadable JPEGs in task 1.
        var train = read.Manifest.Split(ClipSplit.Train).ToList();
        var (missing, shortAudio, corrupt) = (train.First(c => c.Task == 0), train.Where(c => c.Task == 0).Skip(1).First(), train.First(c => c.Task == 1));
        File.Delete(Path.Combine(home, missing.RelativePath, "frame_20.jpg"));
        File.Delete(Path.Combine(home, shortAudio.AudioPath!));
        await FfmpegAsync("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-ar", "16000", Path.Combine(home, shortAudio.AudioPath!));
        foreach (var jpeg in Directory.GetFiles(Path.Combine(home, corrupt.RelativePath)))
        {
            await File.WriteAllTextAsync(jpeg, "not a jpeg");
        }

        var config = new StreamTrainConfig
        {
            Name = "official", Manifest = Path.Combine(dir, "manifest.csv"), Source = StreamTrainConfig.OfficialSource, DataHome = home,
            Method = "stella", BatchSize = 4, EpochsPerTask = 1, CheckpointEvery = 1000, MaxQuarantineShare = 0.5, Workers = 2, ProbePerClass = 2,
        };
        var lines = new List<string>();
        var outDir = TestData.TempDir();
        var results = await new StreamTrainJob(config, outDir, l => { lock (lines) { lines.Add(l); } }).RunAsync(false, CancellationToken.None);

        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(results));
        var root = doc.RootElement;
        Assert.Equal(2, root.GetProperty("tasks").GetArrayLength());
        Assert.Equal(3, root.GetProperty("quarantined").GetInt32());
        Assert.Equal(16 - 3, root.GetProperty("efficiency").GetProperty("train_clips").GetInt32());
        Assert.Contains("evaluation set: 8 retrieval clips ready (0 quarantined)", lines);
        RunAssert.OwnLocalizationInstrument(root, avm: true);
        var quarantined = File.ReadLines(Path.Combine(outDir, "quarantine.csv")).Skip(1).ToList();
        Assert.Equal(3, quarantined.Count);
        Assert.Contains(quarantined, l => l.StartsWith($"\"{missing.ClipId}\"", StringComparison.Ordinal) && l.Contains("decode,MissingFile,", StringComparison.Ordinal) && l.Contains("frame_20.jpg is missing", StringComparison.Ordinal));
        Assert.Contains(quarantined, l => l.StartsWith($"\"{shortAudio.ClipId}\"", StringComparison.Ordinal) && l.Contains("decode,TooShort,", StringComparison.Ordinal) && l.Contains("is shorter than the minimum 4 s", StringComparison.Ordinal));
        Assert.Contains(quarantined, l => l.StartsWith($"\"{corrupt.ClipId}\"", StringComparison.Ordinal) && l.Contains("decode,Corrupt,", StringComparison.Ordinal) && l.Contains("is not a readable JPEG", StringComparison.Ordinal));

        // A manifest and a config that disagree about the layout are refused by name, as is the layout without its data home.
        var asClips = new StreamTrainConfig { Manifest = config.Manifest, Workers = 2 };
        var e1 = await Assert.ThrowsAsync<ManifestException>(() => Stella.Pipeline.Sources.ClipFileSource.OpenAsync(asClips, _ => { }, CancellationToken.None));
        Assert.Contains("the manifest has an 'audio' column (the authors' frames-and-audio layout): set 'source: stella-official' and 'data_home:'", e1.Message);
        var onMp4 = new StreamTrainConfig { Manifest = Path.Combine(data, "manifest.csv"), Source = StreamTrainConfig.OfficialSource, DataHome = home, Workers = 2 };
        var e2 = await Assert.ThrowsAsync<ManifestException>(() => Stella.Pipeline.Sources.ClipFileSource.OpenAsync(onMp4, _ => { }, CancellationToken.None));
        Assert.Contains("source: stella-official needs a manifest with an 'audio' column", e2.Message);
        var noHome = new StreamTrainConfig { Manifest = config.Manifest, Source = StreamTrainConfig.OfficialSource, Workers = 2 };
        var e3 = Assert.Throws<Stella.Core.UserInputException>(noHome.ValidateSource);
        Assert.Equal("source: stella-official needs data_home: the folder the frames and audio paths are relative to", e3.Message);

        // The warm-up's cache key sees the layout's manifest and data home: another data home or manifest is another warm-up.
        var warmup = new Warmup.WarmupConfig { Epochs = 1 };
        string Key(string manifestPath, string dataHome) => new Warmup.WarmupJob(
            new StreamTrainConfig { Manifest = manifestPath, Source = StreamTrainConfig.OfficialSource, DataHome = dataHome, Warmup = warmup }, home, _ => { }).BackboneDir;
        var before = Key(config.Manifest, home);
        Assert.Equal(before, Key(config.Manifest, home));
        Assert.NotEqual(before, Key(config.Manifest, TestData.TempDir()));
        File.WriteAllLines(config.Manifest, File.ReadLines(config.Manifest).Take(5)); // same path, fewer rows
        Assert.NotEqual(before, Key(config.Manifest, home));
    }
}
