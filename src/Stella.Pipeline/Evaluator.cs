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
public sealed record Evaluation(double[][] A2V, double[][] V2A, double[] Gap, double?[] Localization);

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
    private readonly Dictionary<string, SynthGroundTruth> _truth;

    /// <summary>Creates the evaluator over the featurized retrieval clips; <paramref name="groundTruth"/> is the synth ground_truth.jsonl, if any.</summary>
    public Evaluator(IReadOnlyList<ClipOutcome> clips, int tasks, string? groundTruth)
    {
        _clips = clips.Where(c => c.Ok).ToList();
        _tasks = tasks;
        _truth = groundTruth is not null && File.Exists(groundTruth)
            ? File.ReadLines(groundTruth).Select(l => JsonSerializer.Deserialize<SynthGroundTruth>(l)!).ToDictionary(t => t.ClipId)
            : [];
    }

    /// <summary>Evaluates <paramref name="learner"/>'s current model.</summary>
    public Evaluation Run(Learner learner)
    {
        var trainer = learner.Trainer;
        var c = trainer.Config;
        var audio = new List<float[]>();
        var video = new List<float[]>();
        var attention = new List<float[]>();
        using (var noGrad = torch.no_grad())
        {
            foreach (var chunk in _clips.Chunk(16))
            {
                using var scope = torch.NewDisposeScope();
                var a = torch.tensor(chunk.SelectMany(x => x.AudioPatches!).ToArray(), [chunk.Length, c.AudioTokens, c.AudioPatchDim], device: trainer.Device);
                var v = torch.tensor(chunk.SelectMany(x => x.VideoPatches!).ToArray(), [chunk.Length, c.VideoTokens, c.VideoPatchDim], device: trainer.Device);
                var encoding = trainer.Backbone.Encode(a, v);
                var map = learner is StellaLearner
                    ? Scoring.VideoImportance(trainer.Avm.Scores(encoding.JointAudio, encoding.JointVideo))
                    : nn.functional.cosine_similarity(encoding.JointVideo, encoding.PooledAudio.unsqueeze(1), 2);
                for (var i = 0; i < chunk.Length; i++)
                {
                    audio.Add(encoding.PooledAudio[i].cpu().data<float>().ToArray());
                    video.Add(encoding.PooledVideo[i].cpu().data<float>().ToArray());
                    attention.Add(map[i].cpu().data<float>().ToArray());
                }
            }
        }

        var a2v = new double[_tasks][];
        var v2a = new double[_tasks][];
        var gap = new double[_tasks];
        var loc = new double?[_tasks];
        var (qa, qv) = (audio.ToArray(), video.ToArray());
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

        return new Evaluation(a2v, v2a, gap, loc);
    }

    private bool? Localize(int i, float[] attention, int frameSize, int patch)
    {
        var clip = _clips[i];
        if (!_truth.TryGetValue(clip.Clip.ClipId, out var truth))
        {
            return null;
        }

        // The evaluation frames are 1 s apart from the window start; ground truth is per encoded frame.
        var scale = frameSize / (double)truth.FrameSize;
        var frames = attention.Length / ((frameSize / patch) * (frameSize / patch));
        var boxes = new List<int[]>();
        var sounding = new List<bool>();
        for (var f = 0; f < frames; f++)
        {
            var time = clip.VideoStart + f;
            var index = Math.Clamp((int)Math.Round(time * truth.Fps), 0, truth.SourceBoxes.Count - 1);
            boxes.Add(truth.SourceBoxes[index].Select(v => (int)Math.Round(v * scale)).ToArray());
            sounding.Add(truth.Sounding.Any(s => time >= s[0] && time < s[1]));
        }

        return Localization.Hit(attention, frameSize / patch, frameSize, boxes, sounding);
    }
}
