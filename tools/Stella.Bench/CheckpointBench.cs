using System.Diagnostics;
using System.Globalization;
using Stella.Continual.Checkpoints;
using Stella.Continual.Learning;
using Stella.Model;
using Stella.Model.Config;
using TorchSharp;

namespace Stella.Bench;

/// <summary>
/// Memory and checkpoint figures of the default tiny model: bytes per memory item for each method, items held in the default
/// budget, and the size and write/read time of a checkpoint with a full STELLA and STELLA+ memory. Prints; asserts nothing.
/// </summary>
internal static class CheckpointBench
{
    public static async Task<int> RunAsync()
    {
        Stella.Model.Runtime.TorchRuntime.Initialize();
        var options = new LearnerOptions();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"memory and checkpoints: tiny model, default budget {options.MemoryBytes / (1024.0 * 1024):0} MiB"));
        foreach (var method in new[] { "er", "der++", "stella", "stella-plus" })
        {
            using var learner = LearnerFactory.Create(method, new ModelTrainer(ModelConfig.Tiny), options);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {method,-12} {learner.ItemBytes,10:N0} bytes/item  {learner.Memory!.Capacity,5} items in the budget"));
        }

        foreach (var method in new[] { "stella", "stella-plus" })
        {
            using var learner = LearnerFactory.Create(method, new ModelTrainer(ModelConfig.Tiny), options);
            var c = learner.Trainer.Config;
            var steps = 0;
            while (learner.Memory!.Count < learner.Memory.Capacity)
            {
                using var scope = torch.NewDisposeScope();
                var batch = new StreamBatch(
                    torch.randn(8, c.AudioTokens, c.AudioPatchDim), torch.randn(8, c.VideoTokens, c.VideoPatchDim),
                    Enumerable.Range(0, 8).Select(i => $"c{steps}-{i}").ToList(), Enumerable.Repeat(0, 8).ToList());
                learner.Step(batch);
                steps++;
            }

            var dir = Path.Combine(Path.GetTempPath(), $"stella-ckpt-bench-{Guid.NewGuid():N}");
            var store = new CheckpointStore(dir, "bench");
            var watch = Stopwatch.StartNew();
            var saved = await store.SaveAsync(learner, new StreamPosition(0, steps * 8, steps * 8));
            var write = watch.Elapsed.TotalSeconds;
            var bytes = Directory.GetFiles(saved, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            var model = new[] { "backbone.bin", "avm.bin", "backbone-adam.bin", "avm-adam.bin" }.Sum(f => new FileInfo(Path.Combine(saved, f)).Length);
            using var resumed = LearnerFactory.Create(method, new ModelTrainer(ModelConfig.Tiny), options);
            watch.Restart();
            await store.LoadAsync(resumed);
            var read = watch.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  checkpoint {method,-12} {bytes / 1e6,7:0.0} MB ({model / 1e6:0.0} MB weights + Adam, {learner.Memory.Count} memory items), write {write:0.00} s, verify + read {read:0.00} s"));
            Directory.Delete(dir, recursive: true);
        }

        return 0;
    }
}
