using System.Text.Json;
using Stella.Continual.Learning;
using Stella.Core.Metrics;
using Stella.Media.Synth;
using Stella.Model;
using Stella.Model.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Pipeline;

/// <summary>
/// Zero-shot evaluation on the retrieval clips (the evaluator, not the learner, knows their tasks): pooled unimodal embeddings of
/// unmasked inputs, L2-normalized, cosine. Localization is scored with two instruments for every learner, so that learners can be
/// compared on the same one: the AVM's video importance (what STELLA's selection sees; the AVM of a learner that does not train it
/// is its initial or warm-up AVM) and the cosine of each video token's joint output with the pooled audio embedding (the
/// backbone's own audio-visual correspondence, no AVM involved). <see cref="Evaluation.Localization"/> is the learner's own
/// instrument (the AVM for STELLA learners, the cosine for the others), as in results.json's "localization".
/// </summary>
public sealed class Evaluator
{
    /// <summary>The k of R@k.</summary>
    public static readonly int[] Ks = [1, 5, 10];

    /// <summary>R@k (percent) for each k of <see cref="Ks"/> from one task's query ranks: the one formula the run and every recomputation from stored ranks use.</summary>
    public static double[] Recalls(IReadOnlyList<int> ranks) => Ks.Select(k => Retrieval.RecallAt(ranks, k)).ToArray();

    private readonly IReadOnlyList<ClipOutcome> _clips;
    private readonly int _tasks;
    private readonly IReadOnlyDictionary<string, SynthGroundTruth> _truth;
    private readonly IReadOnlyList<ClipOutcome> _probe;
    private readonly Dictionary<string, int> _classes;
    private float[][] _attention = [];

    /// <summary>The localization instruments: the AVM's video importance and the token-audio cosine.</summary>
    private enum Instrument
    {
        Avm,
        Cosine,
    }

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
        var (audio, video, maps) = Embed(learner, _clips, withAttention: true);
        _attention = maps[learner is StellaLearner ? Instrument.Avm : Instrument.Cosine];
        var c = learner.Trainer.Config;
        var a2v = new double[_tasks][];
        var v2a = new double[_tasks][];
        var gap = new double[_tasks];
        var loc = new double?[_tasks];
        var locAvm = new double?[_tasks];
        var locCosine = new double?[_tasks];
        var clipIds = new string[_tasks][];
        var ranksA2V = new int[_tasks][];
        var ranksV2A = new int[_tasks][];
        var (qa, qv) = (audio, video);
        for (var t = 0; t < _tasks; t++)
        {
            var rows = Enumerable.Range(0, _clips.Count).Where(i => _clips[i].Clip.Task == t).ToList();
            var ra = Retrieval.Ranks(qa, qv, rows);
            var rv = Retrieval.Ranks(qv, qa, rows);
            a2v[t] = Recalls(ra);
            v2a[t] = Recalls(rv);
            (clipIds[t], ranksA2V[t], ranksV2A[t]) = (rows.Select(i => _clips[i].Clip.ClipId).ToArray(), ra, rv);
            gap[t] = rows.Count == 0 ? double.NaN : ModalityGap.Compute(rows.Select(i => qa[i]).ToArray(), rows.Select(i => qv[i]).ToArray());
            locAvm[t] = LocalizationAccuracy(rows, maps[Instrument.Avm], c.FrameSize, c.Patch);
            locCosine[t] = LocalizationAccuracy(rows, maps[Instrument.Cosine], c.FrameSize, c.Patch);
            loc[t] = learner is StellaLearner ? locAvm[t] : locCosine[t];
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

        return new Evaluation(a2v, v2a, gap, loc, probe, Ranks: new QueryRanks(clipIds, ranksA2V, ranksV2A), LocalizationAvm: locAvm, LocalizationCosine: locCosine);
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

    private (float[][] Audio, float[][] Video, Dictionary<Instrument, float[][]> Maps) Embed(Learner learner, IReadOnlyList<ClipOutcome> clips, bool withAttention)
    {
        var trainer = learner.Trainer;
        var c = trainer.Config;
        var audio = new List<float[]>();
        var video = new List<float[]>();
        var avm = new List<float[]>();
        var cosine = new List<float[]>();
        using var noGrad = torch.no_grad();
        foreach (var chunk in clips.Chunk(16))
        {
            using var scope = torch.NewDisposeScope();
            var (a, v) = ClipTensors.Stack(chunk, c, trainer.Device);
            var encoding = trainer.Backbone.Encode(a, v);
            var avmMap = withAttention ? Scoring.VideoImportance(trainer.Avm.Scores(encoding.JointAudio, encoding.JointVideo)) : null;
            var cosineMap = withAttention ? nn.functional.cosine_similarity(encoding.JointVideo, encoding.PooledAudio.unsqueeze(1), 2) : null;
            for (var i = 0; i < chunk.Length; i++)
            {
                audio.Add(encoding.PooledAudio[i].cpu().data<float>().ToArray());
                video.Add(encoding.PooledVideo[i].cpu().data<float>().ToArray());
                if (withAttention)
                {
                    avm.Add(avmMap![i].cpu().data<float>().ToArray());
                    cosine.Add(cosineMap![i].cpu().data<float>().ToArray());
                }
            }
        }

        return (audio.ToArray(), video.ToArray(), new() { [Instrument.Avm] = avm.ToArray(), [Instrument.Cosine] = cosine.ToArray() });
    }

    private List<int[]>? Boxes(ClipOutcome clip, int frames, int frameSize) =>
        _truth.TryGetValue(clip.Clip.ClipId, out var truth) ? SourceBoxes(truth, clip.VideoStart, frames, frameSize) : null;

    /// <summary>
    /// The sounding object's box [x0, y0, x1, y1) in each of the <paramref name="frames"/> sampled frames of a window starting at
    /// <paramref name="videoStart"/> s (the evaluation frames are 1 s apart), in pixels of a frame of <paramref name="frameSize"/>.
    /// </summary>
    public static List<int[]> SourceBoxes(SynthGroundTruth truth, double videoStart, int frames, int frameSize)
    {
        var scale = frameSize / (double)truth.FrameSize;
        return Enumerable.Range(0, frames).Select(f =>
        {
            var index = Math.Clamp((int)Math.Round((videoStart + f) * truth.Fps), 0, truth.SourceBoxes.Count - 1);
            return truth.SourceBoxes[index].Select(v => (int)Math.Round(v * scale)).ToArray();
        }).ToList();
    }

    /// <summary>Whether the source sounds in each of the <paramref name="frames"/> sampled frames of a window starting at <paramref name="videoStart"/> s.</summary>
    public static List<bool> SoundingFrames(SynthGroundTruth truth, double videoStart, int frames) =>
        Enumerable.Range(0, frames).Select(f => truth.Sounding.Any(s => videoStart + f >= s[0] && videoStart + f < s[1])).ToList();

    /// <summary>Percent of <paramref name="rows"/> with ground truth whose top-attended patch hits the source (null when none has ground truth).</summary>
    private double? LocalizationAccuracy(List<int> rows, float[][] maps, int frameSize, int patch)
    {
        var hits = rows.Select(i => Localize(i, maps[i], frameSize, patch)).Where(h => h is not null).ToList();
        return hits.Count == 0 ? null : 100.0 * hits.Count(h => h == true) / hits.Count;
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
        var sounding = SoundingFrames(truth, clip.VideoStart, frames);
        return Localization.Hit(attention, frameSize / patch, frameSize, Boxes(clip, frames, frameSize)!, sounding);
    }
}
