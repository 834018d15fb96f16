namespace Stella.Media.Synth;

/// <summary>An object moving over the frame.</summary>
/// <param name="Type">Index into <see cref="SynthCatalog.Objects"/>.</param>
/// <param name="X">Start centre x in pixels.</param>
/// <param name="Y">Start centre y in pixels.</param>
/// <param name="Vx">Velocity x in pixels per second.</param>
/// <param name="Vy">Velocity y in pixels per second.</param>
/// <param name="Radius">Half side in pixels.</param>
public sealed record SynthObject(int Type, double X, double Y, double Vx, double Vy, double Radius);
