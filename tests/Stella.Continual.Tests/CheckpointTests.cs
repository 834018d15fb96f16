using Stella.Continual.Checkpoints;
using Stella.Continual.Learning;
using Stella.Continual.Memory;
using TorchSharp;

namespace Stella.Continual.Tests;

public sealed class CheckpointTests
{
    private static string TempDir()
    {
        return Stella.Tests.Shared.TestTemp.Dir();
    }

    private static void AssertSameState(Learner expected, Learner actual)
    {
        foreach (var (e, a) in expected.Trainer.Backbone.named_parameters().Zip(actual.Trainer.Backbone.named_parameters()))
        {
            Assert.Equal(e.name, a.name);
            Assert.True(e.parameter.detach().equal(a.parameter.detach()).all().item<bool>(), $"backbone {e.name} differs");
        }

        foreach (var (e, a) in expected.Trainer.Avm.parameters().Zip(actual.Trainer.Avm.parameters()))
        {
            Assert.True(e.detach().equal(a.detach()).all().item<bool>(), "AVM weights differ");
        }

        Assert.Equal(expected.Steps, actual.Steps);
        // The extra models and statistics of CLS-ER and ESMER are state too.
        var extra = (expected, actual) switch
        {
            (ClsErLearner e, ClsErLearner a) => [(e.Plastic, a.Plastic), (e.Stable, a.Stable)],
            (EsmerLearner e, EsmerLearner a) => [(e.Semantic, a.Semantic)],
            _ => new List<(EmaModel, EmaModel)>(),
        };
        foreach (var (e, a) in extra)
        {
            foreach (var (pe, pa) in e.Model.parameters().Zip(a.Model.parameters()))
            {
                Assert.True(pe.equal(pa).all().item<bool>(), $"{e.Name} differs");
            }
        }

        if (expected is EsmerLearner esmer)
        {
            Assert.Equal(esmer.MeanLoss, ((EsmerLearner)actual).MeanLoss);
            Assert.True(esmer.MeanLoss > 0);
        }

        if (expected.Memory is null)
        {
            Assert.Null(actual.Memory);
            return;
        }

        Assert.Equal(expected.Memory.Seen, actual.Memory!.Seen);
        Assert.Equal(expected.Memory.State, actual.Memory.State);
        var (ei, ai) = (expected.Memory.Items, actual.Memory.Items);
        Assert.Equal(ei.Select(i => (i.Slot, i.ClipId)), ai.Select(i => (i.Slot, i.ClipId)));
        for (var k = 0; k < ei.Count; k++)
        {
            Assert.Equal(ei[k].AudioPatches, ai[k].AudioPatches);
            Assert.Equal(ei[k].VideoPatches, ai[k].VideoPatches);
            Assert.Equal(ei[k].PooledAudio, ai[k].PooledAudio);
            Assert.Equal(ei[k].QueryVideo, ai[k].QueryVideo);
            Assert.Equal(ei[k].CorrelationVideo, ai[k].CorrelationVideo);
            Assert.Equal(ei[k].AudioIndices, ai[k].AudioIndices);
        }
    }

    [Theory]
    [InlineData("stella")]
    [InlineData("stella-plus")]
    [InlineData("der++")]
    [InlineData("mir")]
    [InlineData("lump")]
    [InlineData("gmed")]
    [InlineData("cls-er")]
    [InlineData("esmer")]
    public async Task ResumeAfterACrash_EqualsAnUninterruptedRun_Bitwise(string method)
    {
        const int Total = 6, Crash = 3;
        using var straight = TinyStream.Learner(method);
        for (var k = 0; k < Total; k++)
        {
            straight.Step(TinyStream.Batch(k));
        }

        var dir = TempDir();
        using (var first = TinyStream.Learner(method))
        {
            for (var k = 0; k < Crash; k++)
            {
                first.Step(TinyStream.Batch(k));
            }

            await new CheckpointStore(dir, "cfg").SaveAsync(first, new StreamPosition(1, 0, Crash * 4));
            first.Step(TinyStream.Batch(Crash)); // work after the checkpoint, lost in the "crash"
        }

        using var resumed = TinyStream.Learner(method);
        var position = await new CheckpointStore(dir, "cfg").LoadAsync(resumed);
        Assert.Equal(new StreamPosition(1, 0, 12), position);
        for (var k = (int)resumed.Steps; k < Total; k++)
        {
            resumed.Step(TinyStream.Batch(k));
        }

        AssertSameState(straight, resumed);
    }

    [Theory]
    [InlineData("files")]
    [InlineData("renamed")]
    public async Task KillDuringASave_LeavesThePreviousCheckpoint(string stage)
    {
        var dir = TempDir();
        using var learner = TinyStream.Learner("der++");
        learner.Step(TinyStream.Batch(0));
        var first = await new CheckpointStore(dir, "cfg").SaveAsync(learner, new StreamPosition(0, 4, 4));
        learner.Step(TinyStream.Batch(1));
        var crashing = new CheckpointStore(dir, "cfg") { OnStage = s => { if (s == stage) throw new IOException("killed"); } };
        await Assert.ThrowsAsync<IOException>(() => crashing.SaveAsync(learner, new StreamPosition(0, 8, 8)));

        var store = new CheckpointStore(dir, "cfg");
        Assert.Equal(first, store.Latest);
        using var resumed = TinyStream.Learner("der++");
        Assert.Equal(new StreamPosition(0, 4, 4), await store.LoadAsync(resumed));
        Assert.Equal(1, resumed.Steps);

        // The next save succeeds and clears the leftovers.
        await store.SaveAsync(learner, new StreamPosition(0, 8, 8));
        Assert.Empty(Directory.GetDirectories(dir, ".step-*"));
    }

    private static async Task<(string Dir, string Checkpoint)> Saved()
    {
        var dir = TempDir();
        using var learner = TinyStream.Learner("der++");
        learner.Step(TinyStream.Batch(0));
        return (dir, await new CheckpointStore(dir, "cfg").SaveAsync(learner, new StreamPosition(0, 4, 4)));
    }

    [Fact]
    public async Task Load_TruncatedFile_IsRefusedByName()
    {
        var (dir, checkpoint) = await Saved();
        var model = Path.Combine(checkpoint, "backbone.bin");
        var bytes = await File.ReadAllBytesAsync(model);
        await File.WriteAllBytesAsync(model, bytes[..(bytes.Length / 2)]);
        using var learner = TinyStream.Learner("der++");
        var e = await Assert.ThrowsAsync<MemoryFileException>(() => new CheckpointStore(dir, "cfg").LoadAsync(learner));
        Assert.Equal(model, e.File);
        Assert.Contains($"truncated or altered: {bytes.Length / 2} bytes, checkpoint.json says {bytes.Length}", e.Message);
    }

    [Fact]
    public async Task Load_AlteredFile_IsRefusedByChecksum()
    {
        var (dir, checkpoint) = await Saved();
        var optimizer = Path.Combine(checkpoint, "backbone-adam.bin");
        var bytes = await File.ReadAllBytesAsync(optimizer);
        bytes[^10] ^= 0xFF;
        await File.WriteAllBytesAsync(optimizer, bytes);
        using var learner = TinyStream.Learner("der++");
        var e = await Assert.ThrowsAsync<MemoryFileException>(() => new CheckpointStore(dir, "cfg").LoadAsync(learner));
        Assert.Equal(optimizer, e.File);
        Assert.Contains("checksum mismatch", e.Message);
    }

    [Fact]
    public async Task Load_OtherConfigOrMethod_IsRefused()
    {
        var (dir, _) = await Saved();
        using var learner = TinyStream.Learner("der++");
        var config = await Assert.ThrowsAsync<MemoryFileException>(() => new CheckpointStore(dir, "other").LoadAsync(learner));
        Assert.Contains("another config (hash cfg, this run other)", config.Message);

        using var er = TinyStream.Learner("er");
        var method = await Assert.ThrowsAsync<MemoryFileException>(() => new CheckpointStore(dir, "cfg").LoadAsync(er));
        Assert.Contains("written by method 'der++', this run is 'er'", method.Message);
    }

    [Fact]
    public async Task Load_CorruptManifest_IsRefused()
    {
        var (dir, checkpoint) = await Saved();
        await File.WriteAllTextAsync(Path.Combine(checkpoint, "checkpoint.json"), "{\"format_version\": 1, \"files\": [");
        using var learner = TinyStream.Learner("der++");
        var e = await Assert.ThrowsAsync<MemoryFileException>(() => new CheckpointStore(dir, "cfg").LoadAsync(learner));
        Assert.EndsWith("checkpoint.json", e.File);
        Assert.Contains("not a readable checkpoint manifest", e.Message);
    }

    [Fact]
    public async Task PeriodicCheckpointer_SavesEveryNStepsAndAtTheEnd_KeepingTheLastTwo()
    {
        var dir = TempDir();
        using var learner = TinyStream.Learner("er");
        var store = new CheckpointStore(dir, "cfg");
        var periodic = new PeriodicCheckpointer(store, every: 2);
        var saved = new List<long>();
        for (var k = 0; k < 5; k++)
        {
            learner.Step(TinyStream.Batch(k));
            if (await periodic.AfterStepAsync(learner, new StreamPosition(0, (k + 1) * 4, (k + 1) * 4)))
            {
                saved.Add(learner.Steps);
            }
        }

        await periodic.FinishAsync(learner, new StreamPosition(1, 0, 20));
        Assert.Equal([2L, 4L], saved);
        Assert.Equal(5, periodic.LastSaved);
        Assert.Equal(["step-00000004", "step-00000005"], Directory.GetDirectories(dir, "step-*").Select(Path.GetFileName).Order());
        Assert.EndsWith("step-00000005", store.Latest);
    }

    [Fact]
    public async Task Load_NoCheckpoint_ReturnsNull()
    {
        using var learner = TinyStream.Learner("stella");
        Assert.Null(await new CheckpointStore(TempDir(), "cfg").LoadAsync(learner));
    }
}
