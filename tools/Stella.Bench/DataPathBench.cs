using System.Diagnostics;
using System.Globalization;
using Stella.Core.Manifests;
using Stella.Media.Decode;
using Stella.Media.Features;
using Stella.Media.Patches;

namespace Stella.Bench;

/// <summary>
/// Data-path benchmark: decode and feature throughput on the default benchmark, against bare ffmpeg doing the same
/// decoding work (audio to f32 PCM, the frame window to RGB). Prints figures; asserts nothing.
/// </summary>
internal static class DataPathBench
{
public static async Task<int> RunAsync(string data, int jobs)
{
var manifest = StellaManifestReader.Read(Path.Combine(data, "manifest.csv"));
var root = new DataRoot(data);
var clips = manifest.Clips.Select(c => root.Resolve(c.RelativePath)).ToList();
var options = new DecodeOptions();
var decoder = new ClipDecoder(options);
Console.WriteLine($"data path benchmark: {clips.Count} clips from {data}, {jobs} at a time, {Environment.ProcessorCount} cores");

// Warm the page cache and the JIT once; all clips have the same length, so one evaluation window start serves all.
var first = await decoder.DecodeAsync(clips[0], FrameWindow.Eval);
var evalStart = first.VideoStart.ToString("0.###", CultureInfo.InvariantCulture);

var bare = await Time(clips, jobs, async clip =>
{
    await RunFfmpeg($"-v error -t 10 -i {clip} -vn -ac 1 -ar 16000 -f f32le -");
    await RunFfmpeg($"-v error -ss {evalStart} -i {clip} -an -pix_fmt rgb24 -vf fps=8,scale=128:128:flags=bilinear -frames:v 25 -f rawvideo -");
});
var decoded = new DecodedClip[clips.Count];
var ours = await Time(clips, jobs, async clip => decoded[clips.IndexOf(clip)] = await decoder.DecodeAsync(clip, FrameWindow.Eval));

var features = new AudioFeatures(new AudioFeatureOptions { TargetFrames = 1024 });
var feat = await Time(decoded, jobs, clip =>
{
    var spec = features.Compute(clip.Audio!);
    Patchify.Audio(spec, 1024, 128);
    var frames = FrameFeatures.Normalize(clip.Frames!, clip.FrameCount, clip.FrameSize);
    Patchify.Video(frames, clip.FrameCount, 3, clip.FrameSize, clip.FrameSize);
    return Task.CompletedTask;
});

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"bare ffmpeg (audio to f32 PCM + 4-frame window to RGB): {bare:0.0} clips/s"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stella decode (FFMpegCore + Polly, typed checks):       {ours:0.0} clips/s, ratio to bare ffmpeg {ours / bare:0.00} (target >= 0.80)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"stella features (fbank 1024x128 + normalize + patches, frames + patches): {feat:0.0} clips/s"));
return 0;
}

private static async Task<double> Time<T>(IReadOnlyList<T> items, int jobs, Func<T, Task> work)
{
    var watch = Stopwatch.StartNew();
    await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = jobs }, async (item, _) => await work(item));
    return items.Count / watch.Elapsed.TotalSeconds;
}

private static async Task RunFfmpeg(string arguments)
{
    using var process = Process.Start(new ProcessStartInfo("ffmpeg", arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
    var drain = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
    var err = process.StandardError.ReadToEndAsync();
    await Task.WhenAll(drain, err, process.WaitForExitAsync());
}
}
