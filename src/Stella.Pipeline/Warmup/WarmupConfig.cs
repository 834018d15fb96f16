using System.Globalization;

namespace Stella.Pipeline.Warmup;

/// <summary>
/// The <c>warmup:</c> section of a stream-train config: the authors' warm-up before the continual tasks (reference section 10).
/// First the backbone trains i.i.d. (one stream shuffled anew every epoch, MAE + contrastive, the Multitask learner) on the
/// manifest's <c>base</c> rows, classes no task uses; then, when <see cref="AvmEpochs"/> &gt; 0, the AVM alone with the backbone
/// frozen (BCE on matched and deranged pairs). The result is a weights folder the continual run starts from, cached by the
/// settings' hash and reused by later runs and by every method of a <c>stella compare</c> seed.
/// </summary>
public sealed class WarmupConfig
{
    /// <summary>Passes over the warm-up clips for the backbone. Default 20.</summary>
    public int Epochs { get; set; } = 20;

    /// <summary>Learning rate of the warm-up. Default: the config's <c>learning_rate</c>.</summary>
    public double? LearningRate { get; set; }

    /// <summary>Clips per warm-up step. Default: the config's <c>batch_size</c>.</summary>
    public int? BatchSize { get; set; }

    /// <summary>
    /// Passes over the warm-up clips training the AVM alone, backbone frozen, after the backbone's warm-up. 0 (default) leaves the
    /// AVM random, as the authors' continual runs do unless given <c>avm_pretrain_path</c>.
    /// </summary>
    public int AvmEpochs { get; set; }

    /// <summary>
    /// Folder of the warm-up cache (relative to the config's folder or absolute). Default: a folder <c>warmup</c> beside the run
    /// folder (runs/warmup for runs/NAME; for <c>stella compare</c>, one shared by every method).
    /// </summary>
    public string? Cache { get; set; }

    /// <summary>Throws <see cref="Stella.Core.UserInputException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        Require(Epochs >= 1, $"warmup.epochs must be at least 1 (got {Epochs})");
        Require(AvmEpochs >= 0, $"warmup.avm_epochs must not be negative (got {AvmEpochs})");
        Require(LearningRate is null or > 0, $"warmup.learning_rate must be positive (got {LearningRate})");
        Require(BatchSize is null or >= 1, $"warmup.batch_size must be at least 1 (got {BatchSize})");
    }

    /// <summary>The settings that change the warm-up's weights, as text for a hash (the cache folder is not one of them).</summary>
    public string Key() => string.Create(CultureInfo.InvariantCulture, $"epochs={Epochs}|lr={LearningRate:R}|batch={BatchSize}|avm_epochs={AvmEpochs}");

    private static void Require(bool ok, string message)
    {
        if (!ok)
        {
            throw new Stella.Core.UserInputException(message);
        }
    }
}
