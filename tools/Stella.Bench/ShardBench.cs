using System.Diagnostics;
using System.Globalization;
using Stella.Core.Manifests;
using Stella.Model.Config;
using Stella.Pipeline;
using Stella.Pipeline.Shards;
using Stella.Pipeline.Sources;

namespace Stella.Bench;

/// <summary>
/// The data path from patch shards against from clips: every training clip of the default config featurized from the MP4s (ffmpeg
/// decode + fbank + patches, the config's workers in parallel) and read back from shards written by 'stella preprocess'. Prints
/// samples/s of both, the ratio, and the shards' size. Asserts nothing.
/// </summary>
internal static class ShardBench
{
    public static async Task RunAsync(string configPath)
    {
        var config = StreamTrainConfig.Load(configPath);
        var dir = Path.Combine(Path.GetTempPath(), $"stella-bench-shards-{Environment.ProcessId}");
        var watch = Stopwatch.StartNew();
        await new PreprocessJob(config, dir, 0, 1, _ => { }).RunAsync(CancellationToken.None);
        var preprocess = watch.Elapsed.TotalSeconds;
        var bytes = Directory.GetFiles(dir, "*.parquet").Sum(f => new FileInfo(f).Length);

        var clips = await ClipFileSource.OpenAsync(config, _ => { }, CancellationToken.None);
        var train = clips.Manifest.Split(ClipSplit.Train).ToList();
        var fromClips = await TimeAsync(clips, train, config.Workers);
        var shards = await PatchShardSource.OpenAsync([dir], ModelConfig.Preset(config.Model), _ => { }, CancellationToken.None);
        var fromShards = await TimeAsync(shards, shards.Manifest.Split(ClipSplit.Train).ToList(), config.Workers);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"patch shards ({configPath}): preprocess {train.Count} training + eval rows in {preprocess:0.0} s, {bytes / 1e6:0.0} MB on disk"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  from clips  {fromClips,8:0.0} samples/s\n  from shards {fromShards,8:0.0} samples/s  ({fromShards / fromClips:0.0}x)"));
        Directory.Delete(dir, recursive: true);
    }

    private static async Task<double> TimeAsync(IClipSource source, List<ClipRecord> clips, int workers)
    {
        var watch = Stopwatch.StartNew();
        var ok = 0;
        await Parallel.ForEachAsync(clips.Select((c, i) => (c, i)), new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, workers) }, async (x, ct) =>
        {
            var outcome = await source.TrainAsync(x.c, x.c.Task, x.i, ct);
            if (outcome.Ok)
            {
                Interlocked.Increment(ref ok);
            }
        });
        return ok / watch.Elapsed.TotalSeconds;
    }
}
