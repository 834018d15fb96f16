namespace Stella.Media.Decode;

/// <summary>A clip that cannot be decoded: the failure kind, the clip's path, and ffmpeg's last words where there are some.</summary>
public sealed class DecodeException : Stella.Core.UserInputException
{
    /// <summary>Creates the exception; <paramref name="transient"/> marks faults worth a retry (a crashed process, an I/O error).</summary>
    public DecodeException(DecodeFailure failure, string path, string detail, bool transient = false, Exception? inner = null)
        : base($"{failure}: {path}: {detail}", inner)
    {
        Failure = failure;
        ClipPath = path;
        Detail = detail;
        Transient = transient;
    }

    /// <summary>The kind of failure.</summary>
    public DecodeFailure Failure { get; }

    /// <summary>The clip's path.</summary>
    public string ClipPath { get; }

    /// <summary>What went wrong, without the path.</summary>
    public string Detail { get; }

    /// <summary>True when a retry may succeed.</summary>
    public bool Transient { get; }
}
