using Stella.Continual.Memory;
using Stella.Model;
using Stella.Model.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Continual.Learning;

/// <summary>
/// STELLA (Algorithm 2), STELLA+ (Algorithm 3, <paramref name="plus"/>: the memory keeps only the selected patches, so the same bytes
/// hold about twice the items, replayed as stored), and the selection ablations Random, LPIS-only and RCA-only, all on DER++.
/// Per step: score the batch with the AVM (before its update), pair it row by row with replay items and compare against their stored
/// queries, select rho of the patches of the batch and of the replay items, train the backbone on both with the DER++ penalty on the
/// replayed rows, offer the batch to the memory, then train the AVM.
/// </summary>
public sealed class StellaLearner(ModelTrainer trainer, LearnerOptions options, SelectionKind kind, bool plus)
    : Learner(NameOf(kind, plus), trainer, options, ItemBytesFor(trainer, plus))
{
    /// <summary>The command-line name of a variant.</summary>
    public static string NameOf(SelectionKind kind, bool plus) => kind switch
    {
        SelectionKind.Stella => plus ? "stella-plus" : "stella",
        SelectionKind.Random => "random",
        SelectionKind.LpisOnly => "lpis-only",
        _ => "rca-only",
    };

    /// <summary>
    /// Payload of one item. STELLA: all patches, pooled embeddings, q_hat_a, q_hat_v, importance and correlation of every token.
    /// STELLA+: the kappa selected patches with their indices, pooled embeddings and queries.
    /// </summary>
    public static long ItemBytesFor(ModelTrainer trainer, bool plus)
    {
        var c = trainer.Config;
        var common = 4L * c.Dim * 4; // pooled a, v and q_hat a, v (H * d = D each)
        if (plus)
        {
            return common + (4L * (((long)trainer.AudioKappa * (c.AudioPatchDim + 1)) + ((long)trainer.VideoKappa * (c.VideoPatchDim + 1))));
        }

        var tokens = (long)c.AudioTokens + c.VideoTokens;
        return common + (4L * (((long)c.AudioTokens * c.AudioPatchDim) + ((long)c.VideoTokens * c.VideoPatchDim) + (2 * tokens)));
    }

    /// <inheritdoc />
    public override bool SelectsPatches => true;

    /// <inheritdoc />
    protected override void ScoreCore(StepWork work)
    {
        var b = work.Batch.Count;
        var replay = work.Replay = Memory!.Sample(b);
        (Tensor, Tensor)? past = null;
        if (replay.Count > 0)
        {
            // The official pairing: current item n is compared with memory item n (in turn when the memory holds fewer).
            var partners = Enumerable.Range(0, b).Select(i => replay[i % replay.Count]).ToList();
            var heads = Trainer.Avm.Heads;
            past = (Stack(partners.Select(p => p.QueryAudio), heads, Config.Dim / heads), Stack(partners.Select(p => p.QueryVideo), heads, Config.Dim / heads));
        }

        work.Scores = work.Own(Trainer.Score(work.Batch.Audio, work.Batch.Video, past, out var encoding));
        work.Encoding = work.Own(encoding);
    }

    /// <inheritdoc />
    protected override void SelectCore(StepWork work)
    {
        var (batch, scores, replay) = (work.Batch, work.Scores!, work.Replay);
        var (ia, pa) = Rule(scores.AudioImportance, scores.AudioCorrelation, replay.Count > 0);
        var (iv, pv) = Rule(scores.VideoImportance, scores.VideoCorrelation, replay.Count > 0);
        var selA = work.SelectedAudio = work.Own(SelectAudio(ia, pa));
        var selV = work.SelectedVideo = work.Own(PatchSelector.SelectVideo(iv, pv, Trainer.VideoKappa, Trainer.Generator));
        work.Selection = new SelectionStats(
            Kept(scores.AudioImportance, selA), Kept(scores.VideoImportance, selV),
            PrunedTop(pa, Trainer.AudioKappa), PrunedTop(pv, Trainer.VideoKappa));
        var audio = Backbone(batch.Audio, selA);
        var video = Backbone(batch.Video, selV);
        var (audioIdx, videoIdx) = (selA, selV);

        if (replay.Count > 0)
        {
            var (ra, raIdx, rv, rvIdx) = plus ? Stored(replay) : Reselect(replay);
            audio = torch.cat([audio, ra]);
            video = torch.cat([video, rv]);
            audioIdx = torch.cat([audioIdx, raIdx]);
            videoIdx = torch.cat([videoIdx, rvIdx]);
        }

        work.Rows = (work.Own(audio), work.Own(audioIdx), work.Own(video), work.Own(videoIdx));
    }

    /// <inheritdoc />
    protected override LearnerStep TrainCore(StepWork work)
    {
        var (audio, audioIdx, video, videoIdx) = work.Rows!.Value;
        var r = work.Trained = work.Own(Trainer.Train(audio, audioIdx, video, videoIdx, DerPenalty(work.Replay, work.Batch.Count)));
        // The AVM learns after the backbone step, with the backbone frozen (its own optimizer); the memory update that follows uses
        // neither, so the order of the two is free.
        var avm = Trainer.AvmStep(work.Encoding!);
        return new LearnerStep(r.MaeAudio, r.MaeVideo, r.Contrastive, r.Extra, avm, work.Replay.Count) { AvmAccuracy = Trainer.LastAvmAccuracy, Selection = work.Selection };
    }

    // Importance of the kept tokens, mean over the batch (the selection stage's dispose scope frees the temporaries).
    private static float Kept(Tensor importance, Tensor selected) => importance.gather(1, selected).sum(1).mean().item<float>();

    // The pruning probabilities the rule applied (RCA's correlation: non-zero only on the top-kappa tokens by importance, so the
    // row sum / kappa is their mean; zeros for the rules without pruning; NaN for the first step's deterministic top-kappa).
    private static float PrunedTop(Tensor? probability, int kappa) => probability is null ? float.NaN : probability.sum(1).mean().item<float>() / kappa;

    /// <inheritdoc />
    protected override void RememberCore(StepWork work)
    {
        var (batch, scores, r, selA, selV) = (work.Batch, work.Scores!, work.Trained!, work.SelectedAudio!, work.SelectedVideo!);
        Store(batch, i => plus
            ? new MemoryItem
            {
                AudioPatches = Row(Backbone(batch.Audio, selA), i), VideoPatches = Row(Backbone(batch.Video, selV), i),
                AudioIndices = IndexRow(selA, i), VideoIndices = IndexRow(selV, i),
                PooledAudio = Row(r.PooledAudio, i), PooledVideo = Row(r.PooledVideo, i),
                QueryAudio = Row(scores.QueryAudio, i), QueryVideo = Row(scores.QueryVideo, i),
            }
            : new MemoryItem
            {
                AudioPatches = Row(batch.Audio, i), VideoPatches = Row(batch.Video, i),
                PooledAudio = Row(r.PooledAudio, i), PooledVideo = Row(r.PooledVideo, i),
                QueryAudio = Row(scores.QueryAudio, i), QueryVideo = Row(scores.QueryVideo, i),
                ImportanceAudio = Row(scores.AudioImportance, i), ImportanceVideo = Row(scores.VideoImportance, i),
                // First step (empty memory): no correlation yet, stored as zeros (no pruning when replayed); same size as later items.
                CorrelationAudio = scores.AudioCorrelation is null ? new float[Config.AudioTokens] : Row(scores.AudioCorrelation, i),
                CorrelationVideo = scores.VideoCorrelation is null ? new float[Config.VideoTokens] : Row(scores.VideoCorrelation, i),
            });
    }

    private static Tensor Backbone(Tensor patches, Tensor indices) => Model.Modules.Backbone.GatherTokens(patches, indices);

    private Tensor SelectAudio(Tensor importance, Tensor? probability) =>
        PatchSelector.SelectAudio(importance, probability, Trainer.AudioKappa, Config.AudioTimeTokens, Config.AudioFreqTokens, Trainer.Options.ChunkSize, Trainer.Generator);

    // What importance and prune probabilities each variant hands to the selector. A null probability means the first-step rule
    // (deterministic top-kappa), which only STELLA and LPIS-only use: for the others top-kappa of uniform scores would be "the first kappa".
    private (Tensor Importance, Tensor? Probability) Rule(Tensor importance, Tensor? correlation, bool haveMemory) => kind switch
    {
        SelectionKind.Stella => (importance, haveMemory ? correlation : null),
        SelectionKind.LpisOnly => (importance, haveMemory ? torch.zeros_like(importance) : null),
        SelectionKind.RcaOnly => (Uniform(importance), correlation ?? torch.zeros_like(importance)),
        _ => (Uniform(importance), torch.zeros_like(importance)),
    };

    // Equal importance 1 / L for every token, the shape of importance [B, L].
    private static Tensor Uniform(Tensor importance)
    {
        using var ones = torch.ones_like(importance);
        return ones.Over(importance.shape[1]);
    }

    // STELLA+: replayed as stored.
    private (Tensor, Tensor, Tensor, Tensor) Stored(IReadOnlyList<MemoryItem> replay) =>
        (Stack(replay.Select(p => p.AudioPatches), Trainer.AudioKappa, Config.AudioPatchDim), StackIndices(replay.Select(p => p.AudioIndices)),
         Stack(replay.Select(p => p.VideoPatches), Trainer.VideoKappa, Config.VideoPatchDim), StackIndices(replay.Select(p => p.VideoIndices)));

    // STELLA: a fresh Bernoulli on the stored probabilities applied to the stored importance.
    private (Tensor, Tensor, Tensor, Tensor) Reselect(IReadOnlyList<MemoryItem> replay)
    {
        Tensor Stored(IEnumerable<float[]> values, int tokens) => Stack(values, tokens);
        var ia = Stored(replay.Select(p => p.ImportanceAudio), Config.AudioTokens);
        var iv = Stored(replay.Select(p => p.ImportanceVideo), Config.VideoTokens);
        var pa = Stored(replay.Select(p => p.CorrelationAudio), Config.AudioTokens);
        var pv = Stored(replay.Select(p => p.CorrelationVideo), Config.VideoTokens);
        var (ria, rpa) = Rule(ia, pa, haveMemory: true);
        var (riv, rpv) = Rule(iv, pv, haveMemory: true);
        var selA = SelectAudio(ria, rpa);
        var selV = PatchSelector.SelectVideo(riv, rpv, Trainer.VideoKappa, Trainer.Generator);
        var (audio, video) = StackPatches(replay);
        return (Backbone(audio, selA), selA, Backbone(video, selV), selV);
    }
}
