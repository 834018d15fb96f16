using Stella.Media.Synth;

namespace Stella.Pipeline.Tests;

/// <summary>Small rendered benchmarks (one per option set, made once per test run) and fresh temporary folders.</summary>
internal static class TestData
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<SynthOptions, Lazy<Task<string>>> Sets = new();

    /// <summary>The folder of a benchmark rendered with <paramref name="options"/>.</summary>
    public static Task<string> SynthAsync(SynthOptions options) => Sets.GetOrAdd(options, o => new Lazy<Task<string>>(async () =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "stella-pipeline-tests", "data-" + Guid.NewGuid().ToString("N"));
        await new SynthGenerator(o).GenerateAsync(dir);
        return dir;
    })).Value;

    /// <summary>A new empty folder.</summary>
    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "stella-pipeline-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
