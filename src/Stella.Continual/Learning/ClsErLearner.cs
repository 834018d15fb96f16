using Stella.Model;
using Stella.Model.Modules;
using Stella.Model.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Continual.Learning;

/// <summary>
/// CLS-ER (Arani et al. 2022, thesis Sec. 2.8): besides the working model, a plastic and a stable model, each an exponential moving
/// average of it updated at random (probabilities r_P &gt; r_S). Replayed items join the batch as in ER; both averages embed them
/// (their own random masks, no gradient) and, item by item and per modality, the one that matches its pair better (the higher
/// diagonal of its audio-video softmax) gives the target; the working model's embeddings of the replayed rows are pulled towards it
/// (lambda x MSE, audio plus video). The averages update before the optimizer step, as in the authors' version. The two extra
/// models count against the memory budget; the working model is the one evaluated (the authors' retrieval runs keep only it).
/// </summary>
public sealed class ClsErLearner : Learner
{
    /// <summary>Creates the learner and its two averaged copies of the trainer's backbone.</summary>
    public ClsErLearner(ModelTrainer trainer, LearnerOptions options)
        : base("cls-er", trainer, options, ExperienceReplayLearner.ItemBytesFor(trainer, penalty: false), 2 * trainer.BackboneBytes)
    {
        Plastic = new EmaModel(trainer, "clser-plastic", options.ClsErDecay, options.ClsErPlasticRate);
        Stable = new EmaModel(trainer, "clser-stable", options.ClsErDecay, options.ClsErStableRate);
    }

    /// <summary>The plastic model (for tests).</summary>
    public EmaModel Plastic { get; }

    /// <summary>The stable model (for tests).</summary>
    public EmaModel Stable { get; }

    /// <inheritdoc />
    protected override LearnerStep TrainCore(StepWork work)
    {
        var b = work.Batch.Count;
        var (audio, video, replayed) = BatchWithReplay(work);
        Func<PretrainOutput, Tensor?>? penalty = null;
        if (replayed is ({ } ra, { } rv))
        {
            var (targetA, targetV) = Targets(ra, rv);
            penalty = EmbeddingPenalty(targetA, targetV, b, Options.ClsErWeight);
        }

        // The step about to be taken is number Steps + 1; the draws come from the memory's own stream (checkpointed with it).
        Plastic.MaybeUpdate(Trainer.Backbone, Steps + 1, Memory!.NextDouble());
        Stable.MaybeUpdate(Trainer.Backbone, Steps + 1, Memory.NextDouble());
        var rows = audio.shape[0];
        var r = Trainer.Train(audio, AllAudio(rows), video, AllVideo(rows), penalty);
        return new LearnerStep(r.MaeAudio, r.MaeVideo, r.Contrastive, r.Extra, float.NaN, work.Replay.Count);
    }

    // Per item and modality, the embedding of the average whose own pair matches better.
    private (Tensor Audio, Tensor Video) Targets(Tensor audio, Tensor video)
    {
        using var noGrad = torch.no_grad();
        var n = audio.shape[0];
        var plastic = Plastic.Model.Pretrain(audio, AllAudio(n), video, AllVideo(n), Trainer.Generator, Trainer.Options.MaskRatio);
        var stable = Stable.Model.Pretrain(audio, AllAudio(n), video, AllVideo(n), Trainer.Generator, Trainer.Options.MaskRatio);
        var (plasticAv, plasticVa) = Matches(plastic);
        var (stableAv, stableVa) = Matches(stable);
        // Video target from p(a -> v) of the pair, audio target from p(v -> a), as the authors choose them.
        var stableForVideo = stableAv.gt(plasticAv).unsqueeze(1);
        var stableForAudio = stableVa.gt(plasticVa).unsqueeze(1);
        return (torch.where(stableForAudio, stable.PooledAudio, plastic.PooledAudio), torch.where(stableForVideo, stable.PooledVideo, plastic.PooledVideo));
    }

    // The diagonals of the row softmaxes of the in-batch similarity (audio -> video) and of its transpose (video -> audio).
    private static (Tensor AudioToVideo, Tensor VideoToAudio) Matches(PretrainOutput output)
    {
        var a = nn.functional.normalize(output.PooledAudio, 2, -1);
        var v = nn.functional.normalize(output.PooledVideo, 2, -1);
        var logits = a.matmul(v.t()).Over(0.05);
        return (logits.softmax(1).diagonal(), logits.t().softmax(1).diagonal());
    }

    /// <inheritdoc />
    protected override void RememberCore(StepWork work) => StorePatches(work.Batch);

    /// <inheritdoc />
    public override void InitialWeightsLoaded()
    {
        Plastic.CopyFrom(Trainer.Backbone);
        Stable.CopyFrom(Trainer.Backbone);
    }

    /// <inheritdoc />
    public override IReadOnlyList<string> SaveExtraState(string dir) => [Plastic.Save(dir), Stable.Save(dir)];

    /// <inheritdoc />
    public override void LoadExtraState(string dir)
    {
        Plastic.Load(dir);
        Stable.Load(dir);
    }

    /// <inheritdoc />
    protected override void DisposeExtra()
    {
        Plastic.Dispose();
        Stable.Dispose();
    }
}
