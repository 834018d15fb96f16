using System.Text.Json;
using Stella.Continual.Learning;
using Stella.Core.Metrics;
using Stella.Media.Synth;
using Stella.Model;
using Stella.Model.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Pipeline;

/// <summary>One evaluation after a task: R@k per task and direction, modality gap and localization per task.</summary>
/// <param name="A2V">R@1, R@5, R@10 (percent) of each task's audio queries against the whole video gallery: [task][k].</param>
/// <param name="V2A">The same for video queries.</param>
/// <param name="Gap">Modality gap per task.</param>
/// <param name="Localization">Localization accuracy (percent) per task; null where no ground truth exists.</param>
/// <param name="Probe">Linear-probe classification accuracy (percent) of each task's retrieval clips; null without a probe set.</param>
/// <param name="Seen">Tasks the learner had seen when this evaluation ran: the first <c>t + 1</c> after task t of a task stream, all
/// of them after a joint (Multitask) stream.</param>
public sealed record Evaluation(double[][] A2V, double[][] V2A, double[] Gap, double?[] Localization, double[]? Probe = null, int Seen = 0)
{
    /// <summary>Mean of the finite per-task values over the tasks seen (NaN when none is finite): the one "seen tasks" average.</summary>
    public double MeanOverSeen(IEnumerable<double?> perTask) =>
        perTask.Take(Seen).Where(v => v is { } x && double.IsFinite(x)).Select(v => v!.Value).DefaultIfEmpty(double.NaN).Average();

    /// <summary>Mean of R@k (index <paramref name="k"/>) over the seen tasks, audio to video.</summary>
    public double SeenA2V(int k) => MeanOverSeen(A2V.Select(r => (double?)r[k]));

    /// <summary>Mean of R@k over the seen tasks, video to audio.</summary>
    public double SeenV2A(int k) => MeanOverSeen(V2A.Select(r => (double?)r[k]));

    /// <summary>Mean modality gap over the seen tasks.</summary>
    public double SeenGap() => MeanOverSeen(Gap.Select(g => (double?)g));

    /// <summary>Mean localization accuracy over the seen tasks that have ground truth (NaN when none has).</summary>
    public double SeenLocalization() => MeanOverSeen(Localization);
}

/// <summary>
/// Zero-shot evaluation on the retrieval clips (the evaluator, not the learner, knows their tasks): pooled unimodal embeddings of
/// unmasked inputs, L2-normalized, cosine; localization from the AVM's video importance (STELLA learners) or, for learners that do
/// not train an AVM, the cosine of each video token's joint output with the pooled audio embedding.
/// </summary>
public sealed class Evaluator
{
    /// <summary>The k of R@k.</summary>
    public static readonly int[] Ks = [1, 5, 10];

    private readonly IReadOnlyList<ClipOutcome> _clips;
    private readonly int _tasks;
    private readonly IReadOnlyDictionary<string, SynthGroundTruth> _truth;
    private readonly IReadOnlyList<ClipOutcome> _probe;
    private readonly Dictionary<string, int> _classes;
    private float[][] _attention = [];

    /// <summary>
    /// Creates the evaluator over the featurized retrieval clips; <paramref name="groundTruth"/> holds the built-in benchmark's
    /// ground truth per clip id (empty for real data); <paramref name="probe"/> are featurized training clips (evaluation window) the linear probe is fitted on.
    /// </summary>
    public Evaluator(IReadOnlyList<ClipOutcome> clips, int tasks, IReadOnlyDictionary<string, SynthGroundTruth> groundTruth, IReadOnlyList<ClipOutcome>? probe = null)
    {
        _clips = clips.Where(c => c.Ok).ToList();
        _probe = probe?.Where(c => c.Ok).ToList() ?? [];
        _classes = _clips.Concat(_probe).Select(c => c.Clip.Label).Distinct().Order(StringComparer.Ordinal).Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i);
        _tasks = tasks;
        _truth = groundTruth;
    }

    /// <summary>Evaluates <paramref name="learner"/>'s current model.</summary>
    public Evaluation Run(Learner learner)
    {
        var (audio, video, attention) = Embed(learner, _clips, withAttention: true);
        _attention = attention;
        var c = learner.Trainer.Config;
        var a2v = new double[_tasks][];
        var v2a = new double[_tasks][];
        var gap = new double[_tasks];
        var loc = new double?[_tasks];
        var (qa, qv) = (audio, video);
        for (var t = 0; t < _tasks; t++)
        {
            var rows = Enumerable.Range(0, _clips.Count).Where(i => _clips[i].Clip.Task == t).ToList();
            var ra = Retrieval.Ranks(qa, qv, rows);
            var rv = Retrieval.Ranks(qv, qa, rows);
            a2v[t] = Ks.Select(k => Retrieval.RecallAt(ra, k)).ToArray();
            v2a[t] = Ks.Select(k => Retrieval.RecallAt(rv, k)).ToArray();
            gap[t] = rows.Count == 0 ? double.NaN : ModalityGap.Compute(rows.Select(i => qa[i]).ToArray(), rows.Select(i => qv[i]).ToArray());
            var hits = rows.Select(i => Localize(i, attention[i], c.FrameSize, c.Patch)).Where(h => h is not null).ToList();
            loc[t] = hits.Count == 0 ? null : 100.0 * hits.Count(h => h == true) / hits.Count;
        }

        double[]? probe = null;
        if (_probe.Count > 0)
        {
            var (pa, pv, _) = Embed(learner, _probe, withAttention: false);
            var predicted = Reports.LinearProbe.FitPredict(
                _probe.Select((_, i) => pa[i].Concat(pv[i]).ToArray()).ToArray(), _probe.Select(c => _classes[c.Clip.Label]).ToArray(),
                _clips.Select((_, i) => qa[i].Concat(qv[i]).ToArray()).ToArray(), _classes.Count);
            probe = Enumerable.Range(0, _tasks).Select(t =>
            {
                var rows = Enumerable.Range(0, _clips.Count).Where(i => _clips[i].Clip.Task == t).ToList();
                return rows.Count == 0 ? double.NaN : 100.0 * rows.Count(i => predicted[i] == _classes[_clips[i].Clip.Label]) / rows.Count;
            }).ToArray();
        }

        return new Evaluation(a2v, v2a, gap, loc, probe);
    }

    /// <summary>
    /// The first <paramref name="perTask"/> retrieval clips of each task with the attention of the last <see cref="Run"/>, their
    /// frames (de-normalized from the patches) and the ground-truth boxes where known: the rows of an attention overlay.
    /// </summary>
    public List<Reports.AttentionRow> AttentionRows(int perTask, int frameSize, int patch)
    {
        var rows = new List<Reports.AttentionRow>();
        if (_attention.Length != _clips.Count)
        {
            return rows;
        }

        for (var t = 0; t < _tasks; t++)
        {
            foreach (var i in Enumerable.Range(0, _clips.Count).Where(i => _clips[i].Clip.Task == t).Take(perTask))
            {
                var clip = _clips[i];
                var frames = clip.VideoPatches!.Length / (3 * frameSize * frameSize);
                var planar = Stella.Media.Patches.Patchify.VideoInverse(clip.VideoPatches, frames, 3, frameSize, frameSize, patch);
                var rgb = Stella.Media.Features.FrameFeatures.Denormalize(planar, frames, frameSize);
                rows.Add(new Reports.AttentionRow($"task {t}: {clip.Clip.Label} ({clip.Clip.ClipId})", rgb, frames, _attention[i], Boxes(clip, frames, frameSize)));
            }
        }

        return rows;
    }

    private (float[][] Audio, float[][] Video, float[][] Attention) Embed(Learner learner, IReadOnlyList<ClipOutcome> clips, bool withAttention)
    {
        var trainer = learner.Trainer;
        var c = trainer.Config;
        var audio = new List<float[]>();
        var video = new List<float[]>();
        var attention = new List<float[]>();
        using var noGrad = torch.no_grad();
        foreach (var chunk in clips.Chunk(16))
        {
            using var scope = torch.NewDisposeScope();
            var (a, v) = ClipTensors.Stack(chunk, c, trainer.Device);
            var encoding = trainer.Backbone.Encode(a, v);
            var map = !withAttention ? null : learner is StellaLearner
                ? Scoring.VideoImportance(trainer.Avm.Scores(encoding.JointAudio, encoding.JointVideo))
                : nn.functional.cosine_similarity(encoding.JointVideo, encoding.PooledAudio.unsqueeze(1), 2);
            for (var i = 0; i < chunk.Length; i++)
            {
                audio.Add(encoding.PooledAudio[i].cpu().data<float>().ToArray());
                video.Add(encoding.PooledVideo[i].cpu().data<float>().ToArray());
                if (map is not null)
                {
                    attention.Add(map[i].cpu().data<float>().ToArray());
                }
            }
        }

        return (audio.ToArray(), video.ToArray(), attention.ToArray());
    }

    private List<int[]>? Boxes(ClipOutcome clip, int frames, int frameSize)
    {
        if (!_truth.TryGetValue(clip.Clip.ClipId, out var truth))
        {
            return null;
        }

        var scale = frameSize / (double)truth.FrameSize;
        return Enumerable.Range(0, frames).Select(f =>
        {
            var index = Math.Clamp((int)Math.Round((clip.VideoStart + f) * truth.Fps), 0, truth.SourceBoxes.Count - 1);
            return truth.SourceBoxes[index].Select(v => (int)Math.Round(v * scale)).ToArray();
        }).ToList();
    }

    private bool? Localize(int i, float[] attention, int frameSize, int patch)
    {
        var clip = _clips[i];
        if (!_truth.TryGetValue(clip.Clip.ClipId, out var truth))
        {
            return null;
        }

        // The evaluation frames are 1 s apart from the window start; ground truth is per encoded frame.
        var frames = attention.Length / ((frameSize / patch) * (frameSize / patch));
        var sounding = Enumerable.Range(0, frames).Select(f => truth.Sounding.Any(s => clip.VideoStart + f >= s[0] && clip.VideoStart + f < s[1])).ToList();
        return Localization.Hit(attention, frameSize / patch, frameSize, Boxes(clip, frames, frameSize)!, sounding);
    }
}
