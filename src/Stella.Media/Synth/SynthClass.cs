namespace Stella.Media.Synth;

/// <summary>A class of the benchmark: one object type bound to one sound.</summary>
/// <param name="Index">Global class index.</param>
/// <param name="Label">Label, "object/register-family".</param>
/// <param name="ObjectType">Index into <see cref="SynthCatalog.Objects"/>.</param>
/// <param name="SoundFamily">Index into <see cref="SynthCatalog.SoundFamilies"/>.</param>
/// <param name="Register">0 low, 1 mid, 2 high.</param>
public sealed record SynthClass(int Index, string Label, int ObjectType, int SoundFamily, int Register);
