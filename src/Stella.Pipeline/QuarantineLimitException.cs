using System.Globalization;
using Stella.Core;

namespace Stella.Pipeline;

/// <summary>
/// The run stopped because more clips were quarantined than tolerated (<c>max_quarantine_share</c>): the data, not the program, is
/// at fault, so it is a user error, with an exit code of its own (3) in the CLI.
/// </summary>
public sealed class QuarantineLimitException : UserInputException
{
    /// <summary>Creates the exception: <paramref name="quarantined"/> of <paramref name="clips"/> clips taken were quarantined, above <paramref name="limit"/>.</summary>
    public QuarantineLimitException(int quarantined, long clips, double limit, string quarantineFile)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"{quarantined} of {clips} clips quarantined ({100.0 * quarantined / Math.Max(1, clips):0}%), above the tolerated {100 * limit:0.#}% (max_quarantine_share): see {quarantineFile}"))
    {
        Quarantined = quarantined;
        Clips = clips;
        Limit = limit;
    }

    /// <summary>Clips quarantined.</summary>
    public int Quarantined { get; }

    /// <summary>Clips taken from the stream.</summary>
    public long Clips { get; }

    /// <summary>The tolerated share.</summary>
    public double Limit { get; }
}
