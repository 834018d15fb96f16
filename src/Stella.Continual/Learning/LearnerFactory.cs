using Stella.Model;

namespace Stella.Continual.Learning;

/// <summary>Learners by name.</summary>
public static class LearnerFactory
{
    /// <summary>Every method name, in the thesis' table order.</summary>
    public static readonly IReadOnlyList<string> Names =
        ["finetune", "er", "der++", "lump", "mir", "gmed", "cls-er", "esmer", "stella", "stella-plus", "random", "lpis-only", "rca-only", "multitask", "avm-only"];

    /// <summary>Creates the learner <paramref name="name"/> around <paramref name="trainer"/> (which it then owns).</summary>
    public static Learner Create(string name, ModelTrainer trainer, LearnerOptions options)
    {
        try
        {
            return Make(name, trainer, options);
        }
        catch
        {
            // A refused learner (unknown name, a memory budget its extra models fill) never took the trainer over.
            trainer.Dispose();
            throw;
        }
    }

    private static Learner Make(string name, ModelTrainer trainer, LearnerOptions options) => name.ToLowerInvariant() switch
    {
        "finetune" => new FinetuneLearner(trainer, options),
        "multitask" => new MultitaskLearner(trainer, options),
        "avm-only" => new AvmLearner(trainer, options),
        "er" => new ExperienceReplayLearner(trainer, options, penalty: false),
        "der++" or "derpp" => new ExperienceReplayLearner(trainer, options, penalty: true),
        "lump" => new LumpLearner(trainer, options),
        "mir" => new MirLearner(trainer, options),
        "gmed" => new GmedLearner(trainer, options),
        "cls-er" or "clser" => new ClsErLearner(trainer, options),
        "esmer" => new EsmerLearner(trainer, options),
        "stella" => new StellaLearner(trainer, options, SelectionKind.Stella, plus: false),
        "stella-plus" or "stella+" => new StellaLearner(trainer, options, SelectionKind.Stella, plus: true),
        "random" => new StellaLearner(trainer, options, SelectionKind.Random, plus: false),
        "lpis-only" => new StellaLearner(trainer, options, SelectionKind.LpisOnly, plus: false),
        "rca-only" => new StellaLearner(trainer, options, SelectionKind.RcaOnly, plus: false),
        _ => throw new Stella.Core.UserInputException($"unknown method '{name}': use one of {string.Join(", ", Names)}"),
    };
}
