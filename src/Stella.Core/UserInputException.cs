namespace Stella.Core;

/// <summary>
/// An error the user caused and can fix (a bad setting, a missing or malformed input file): the CLI prints its message as one
/// line and exits 2, while any other exception is a bug and keeps its stack trace. The message says what and where.
/// </summary>
public class UserInputException : Exception
{
    /// <summary>Creates the exception with the one-line <paramref name="message"/>.</summary>
    public UserInputException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
