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
/// <param name="Ranks">The rank of every retrieval query's true pair (what <see cref="A2V"/> and <see cref="V2A"/> are computed
/// from); null in the run_state.json of checkpoints written before ranks were kept.</param>
/// <param name="LocalizationAvm">Localization accuracy per task by the AVM's video importance, for every learner (its
/// <see cref="Localization"/> for STELLA learners); null in checkpoints written before both instruments were kept.</param>
/// <param name="LocalizationCosine">Localization accuracy per task by the cosine of the video tokens with the pooled audio, for
/// every learner (its <see cref="Localization"/> for the others); null in checkpoints written before both were kept.</param>
public sealed record Evaluation(
    double[][] A2V, double[][] V2A, double[] Gap, double?[] Localization, double[]? Probe = null, int Seen = 0, QueryRanks? Ranks = null,
    double?[]? LocalizationAvm = null, double?[]? LocalizationCosine = null)
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
/// The 1-based rank of each retrieval query's true pair in one evaluation, per task, queries in manifest order: the same index
/// is the same clip in every evaluation of a run and in every run over the same retrieval clips (a seed's methods), which is
/// what makes a paired comparison of two runs possible.
/// </summary>
/// <param name="Clips">Clip ids of the queries: [task][query].</param>
/// <param name="A2V">Ranks of the audio queries against the video gallery: [task][query].</param>
/// <param name="V2A">Ranks of the video queries against the audio gallery: [task][query].</param>
public sealed record QueryRanks(string[][] Clips, int[][] A2V, int[][] V2A);
