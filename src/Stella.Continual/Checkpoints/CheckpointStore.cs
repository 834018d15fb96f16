using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Stella.Continual.Learning;
using Stella.Continual.Memory;

namespace Stella.Continual.Checkpoints;

/// <summary>
/// Checkpoints of a learner: weights, optimizer states, the trainer's generator, the memory (Parquet) with its reservoir and draw
/// RNG states, the step count and the stream position. A checkpoint is built in a temporary folder, renamed into place, and only
/// then named by <c>LATEST</c> (itself written to a temporary file and renamed), so a kill at any moment leaves the previous
/// checkpoint usable. <c>checkpoint.json</c> lists every file with its size and SHA-256; a truncated, altered or foreign
/// checkpoint is refused with the file and the problem.
/// </summary>
public sealed class CheckpointStore
{
    /// <summary>Layout version of checkpoints.</summary>
    public const int FormatVersion = 1;

    private const string ManifestName = "checkpoint.json";
    private const string LatestName = "LATEST";
    private const string RunStateName = "run_state.json";
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    private readonly string _root;
    private readonly string _configHash;
    private readonly int _keep;

    /// <summary>Creates a store under <paramref name="root"/> for a run whose settings hash to <paramref name="configHash"/>.</summary>
    public CheckpointStore(string root, string configHash, int keep = 2)
    {
        _root = root;
        _configHash = configHash;
        _keep = Math.Max(1, keep);
    }

    /// <summary>
    /// The state of the job around the learner (its evaluations, counters and timings, as JSON), written into every checkpoint as
    /// <c>run_state.json</c> so that a checkpoint is one commit of everything a resumed run continues from.
    /// </summary>
    public Func<string>? RunState { get; init; }

    /// <summary>The <c>run_state.json</c> of the checkpoint the last <see cref="LoadAsync"/> loaded (null when it had none).</summary>
    public string? LoadedRunState { get; private set; }

    /// <summary>Test hook: called with each stage of a save ("files", "renamed"), to simulate a kill there.</summary>
    internal Action<string>? OnStage { get; set; }

    /// <summary>The folder of the newest complete checkpoint, or null when there is none.</summary>
    public string? Latest
    {
        get
        {
            var latest = Path.Combine(_root, LatestName);
            if (!File.Exists(latest))
            {
                return null;
            }

            var dir = Path.Combine(_root, File.ReadAllText(latest).Trim());
            return Directory.Exists(dir) ? dir : throw new MemoryFileException(latest, $"names '{dir}', which does not exist");
        }
    }

    /// <summary>Saves <paramref name="learner"/> at <paramref name="position"/>; returns the checkpoint folder.</summary>
    public async Task<string> SaveAsync(Learner learner, StreamPosition position, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(_root);
        var name = string.Create(CultureInfo.InvariantCulture, $"step-{learner.Steps:D8}");
        var final = Path.Combine(_root, name);
        var temp = Path.Combine(_root, $".{name}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(temp);
        var files = learner.Trainer.SaveState(temp).ToList();
        files.AddRange(learner.SaveExtraState(temp));
        if (RunState is { } runState)
        {
            await File.WriteAllTextAsync(Path.Combine(temp, RunStateName), runState(), cancellationToken).ConfigureAwait(false);
            files.Add(RunStateName);
        }

        if (learner.Memory is { } memory)
        {
            await new ParquetMemoryStore(Path.Combine(temp, "memory"), _configHash).WriteAsync(memory.Items, cancellationToken).ConfigureAwait(false);
            files.AddRange(Directory.GetFiles(Path.Combine(temp, "memory")).Select(f => Path.GetRelativePath(temp, f)));
        }

        var manifest = new Manifest(
            FormatVersion, _configHash, learner.Name, learner.Steps, position, learner.Memory?.State,
            files.Order(StringComparer.Ordinal).Select(f => new FileEntry(f, new FileInfo(Path.Combine(temp, f)).Length, Hash(Path.Combine(temp, f)))).ToList(),
            DateTime.UtcNow);
        await File.WriteAllTextAsync(Path.Combine(temp, ManifestName), JsonSerializer.Serialize(manifest, JsonOptions), cancellationToken).ConfigureAwait(false);
        OnStage?.Invoke("files");

        if (Directory.Exists(final))
        {
            Directory.Delete(final, recursive: true);
        }

        Directory.Move(temp, final);
        OnStage?.Invoke("renamed");
        var latestTemp = Path.Combine(_root, $"{LatestName}.tmp");
        await File.WriteAllTextAsync(latestTemp, name, cancellationToken).ConfigureAwait(false);
        File.Move(latestTemp, Path.Combine(_root, LatestName), overwrite: true);

        // Committed. Older checkpoints beyond the ones kept, and leftovers of killed saves, go.
        foreach (var old in Directory.GetDirectories(_root, "step-*").Order(StringComparer.Ordinal).SkipLast(_keep))
        {
            Directory.Delete(old, recursive: true);
        }

        foreach (var leftover in Directory.GetDirectories(_root, ".step-*.tmp"))
        {
            Directory.Delete(leftover, recursive: true);
        }

        return final;
    }

    /// <summary>
    /// Loads the newest checkpoint into <paramref name="learner"/> (built with the same settings); returns its stream position,
    /// or null when there is no checkpoint yet.
    /// </summary>
    public async Task<StreamPosition?> LoadAsync(Learner learner, CancellationToken cancellationToken = default)
    {
        var dir = Latest;
        if (dir is null)
        {
            return null;
        }

        var manifest = Verify(dir, learner.Name);
        learner.Trainer.LoadState(dir);
        learner.LoadExtraState(dir);
        RehearsalMemory? memory = null;
        if (manifest.Memory is { } state)
        {
            var items = await new ParquetMemoryStore(Path.Combine(dir, "memory"), _configHash).ReadAsync(cancellationToken).ConfigureAwait(false);
            memory = RehearsalMemory.Restore(state, items);
        }

        learner.Restore(memory, manifest.Steps);
        var runState = Path.Combine(dir, RunStateName);
        LoadedRunState = manifest.Files.Any(f => f.Name == RunStateName) ? await File.ReadAllTextAsync(runState, cancellationToken).ConfigureAwait(false) : null;
        return manifest.Position;
    }

    private Manifest Verify(string dir, string method)
    {
        var path = Path.Combine(dir, ManifestName);
        Manifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllText(path), JsonOptions);
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            throw new MemoryFileException(path, $"not a readable checkpoint manifest: {e.Message}", e);
        }

        if (manifest is null || manifest.Files is null || manifest.Position is null)
        {
            throw new MemoryFileException(path, "empty checkpoint manifest");
        }

        if (manifest.FormatVersion != FormatVersion)
        {
            throw new MemoryFileException(path, $"checkpoint format {manifest.FormatVersion}, this build reads format {FormatVersion}");
        }

        if (manifest.ConfigHash != _configHash)
        {
            throw new MemoryFileException(path, $"written by a run with another config (hash {manifest.ConfigHash}, this run {_configHash}); resume with the same config or use a new --out");
        }

        if (manifest.Method != method)
        {
            throw new MemoryFileException(path, $"written by method '{manifest.Method}', this run is '{method}'");
        }

        foreach (var file in manifest.Files)
        {
            var full = Path.Combine(dir, file.Name);
            if (!File.Exists(full))
            {
                throw new MemoryFileException(full, "listed in checkpoint.json but missing");
            }

            var length = new FileInfo(full).Length;
            if (length != file.Bytes)
            {
                throw new MemoryFileException(full, $"truncated or altered: {length} bytes, checkpoint.json says {file.Bytes}");
            }

            if (Hash(full) != file.Sha256)
            {
                throw new MemoryFileException(full, "checksum mismatch: the file changed after the checkpoint was written");
            }
        }

        return manifest;
    }

    private static string Hash(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private sealed record Manifest(
        [property: JsonPropertyName("format_version")] int FormatVersion,
        [property: JsonPropertyName("config_hash")] string ConfigHash,
        [property: JsonPropertyName("method")] string Method,
        [property: JsonPropertyName("steps")] long Steps,
        [property: JsonPropertyName("position")] StreamPosition Position,
        [property: JsonPropertyName("memory")] MemoryState? Memory,
        [property: JsonPropertyName("files")] List<FileEntry> Files,
        [property: JsonPropertyName("written_utc")] DateTime WrittenUtc);

    private sealed record FileEntry(
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("bytes")] long Bytes,
        [property: JsonPropertyName("sha256")] string Sha256);
}
