namespace Stella.Media.Synth;

/// <summary>
/// The visual object types and sound types of the benchmark, and the fixed list of classes (object, sound).
/// Classes are ordered so that object types recur in later tasks with a different sound (correlation overwriting).
/// </summary>
public static class SynthCatalog
{
    /// <summary>Object types: name and RGB colour.</summary>
    public static readonly IReadOnlyList<(string Name, byte R, byte G, byte B)> Objects =
    [
        ("circle", 230, 60, 50),
        ("square", 60, 200, 80),
        ("triangle", 70, 110, 240),
        ("diamond", 240, 220, 60),
        ("cross", 220, 80, 220),
        ("ring", 60, 220, 230),
        ("bar", 250, 150, 40),
        ("hexagon", 245, 245, 245),
    ];

    /// <summary>Sound families: they differ in pitch, timbre, rhythm and noise colour.</summary>
    public static readonly IReadOnlyList<string> SoundFamilies =
    [
        "sine", "square", "saw", "chirp", "bell", "trill", "hiss", "drum", "pink",
    ];

    private static readonly string[] Registers = ["low", "mid", "high"];

    /// <summary>Largest number of distinct classes.</summary>
    public static int MaxClasses => SoundFamilies.Count * Registers.Length;

    /// <summary>
    /// Warm-up class <paramref name="j"/>: counted from the end of the class list, so it never is a task class while tasks and
    /// warm-up classes together fit in <see cref="MaxClasses"/>. Every class index has its own (family, register) sound, so a
    /// warm-up class's sound is one no task uses; its object type is one the tasks show too.
    /// </summary>
    public static SynthClass BaseClass(int j) => Class(MaxClasses - 1 - j);

    /// <summary>The class of global index <paramref name="k"/>: object type, sound family and register.</summary>
    public static SynthClass Class(int k)
    {
        // Sounds walk family first, then register, so early classes differ most; objects cycle, so class k and
        // class k + Objects.Count show the same object type with another sound.
        var family = k % SoundFamilies.Count;
        var register = (k / SoundFamilies.Count) % Registers.Length;
        var obj = k % Objects.Count;
        var sound = $"{Registers[register]}-{SoundFamilies[family]}";
        return new SynthClass(k, $"{Objects[obj].Name}/{sound}", obj, family, register);
    }
}
