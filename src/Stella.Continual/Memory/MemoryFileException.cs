namespace Stella.Continual.Memory;

/// <summary>A memory or checkpoint file that is refused: the message names the file and the problem.</summary>
public sealed class MemoryFileException(string file, string problem, Exception? inner = null)
    : Stella.Core.UserInputException($"{file}: {problem}", inner)
{
    /// <summary>The refused file.</summary>
    public string File { get; } = file;

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; } = problem;
}
