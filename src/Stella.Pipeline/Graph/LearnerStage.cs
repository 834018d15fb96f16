using Stella.Continual.Learning;

namespace Stella.Pipeline.Graph;

/// <summary>
/// One of the learner's stages as a graph stage: AVM scoring (<see cref="Learner.Score"/>: replay draw and pairing, LPIS importance,
/// RCA correlation against stored queries), selection (<see cref="Learner.Select"/>) or the training sink (<see cref="Learner.Train"/>:
/// backbone step, AVM step). A failure marks the step with the stage and the error: its clips are then quarantined by the memory
/// stage and the stream goes on.
/// </summary>
public sealed class LearnerStage(string name, Action<StepWork> run, Action<string, TrainingStep>? fault = null)
{
    /// <summary>Scoring stage name.</summary>
    public const string Scoring = "scoring";

    /// <summary>Selection stage name.</summary>
    public const string Selection = "selection";

    /// <summary>Training sink name.</summary>
    public const string Sink = "sink";

    /// <summary>The stage's name.</summary>
    public string Name { get; } = name;

    /// <summary>Runs the stage on <paramref name="step"/> unless an earlier stage failed it.</summary>
    public TrainingStep Run(TrainingStep step)
    {
        if (step.Failure is not null || step.Work is null)
        {
            return step;
        }

        try
        {
            fault?.Invoke(Name, step);
            run(step.Work);
        }
        catch (Exception e)
        {
            step.Fail(Name, e);
        }

        return step;
    }
}
