namespace Stella.Pipeline;

/// <summary>Too large a share of the stream's clips failed: the run stops (with a checkpoint) instead of training on what is left.</summary>
public sealed class QuarantineLimitException(string message) : Exception(message);
