using System.Buffers.Binary;
using System.Text;

namespace Stella.Model.Runtime;

/// <summary>
/// Reads and edits the symbol-version tables of a 64-bit little-endian ELF shared object.
/// Written by hand because no maintained .NET library edits <c>.gnu.version_r</c> flags, and the edit is
/// a single 16-bit field: see ENVIRONMENT.md ("TorchSharp on Debian 12").
/// </summary>
public static class ElfVersionNeeds
{
    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;

    /// <summary><c>VER_FLG_WEAK</c>: a missing version is then a warning for the loader, not an error.</summary>
    public const ushort VerFlagWeak = 0x2;

    /// <summary>A version requirement (<c>Elf64_Vernaux</c>) of an ELF file.</summary>
    /// <param name="Library">The library that must provide the version (e.g. libstdc++.so.6).</param>
    /// <param name="Version">The version name (e.g. GLIBCXX_3.4.32).</param>
    /// <param name="Flags">The <c>vna_flags</c> field.</param>
    /// <param name="FlagsOffset">File offset of <c>vna_flags</c>.</param>
    public sealed record Requirement(string Library, string Version, ushort Flags, long FlagsOffset)
    {
        /// <summary>True when the requirement is marked weak.</summary>
        public bool IsWeak => (Flags & VerFlagWeak) != 0;
    }

    /// <summary>Lists the version requirements (<c>.gnu.version_r</c>) of <paramref name="elf"/>.</summary>
    public static IReadOnlyList<Requirement> ReadRequirements(ReadOnlySpan<byte> elf)
    {
        var result = new List<Requirement>();
        foreach (var (offset, size, link, info) in Sections(elf, ShtGnuVerneed))
        {
            var strtab = SectionOffset(elf, link);
            var entry = offset;
            for (var i = 0; i < info && entry < offset + size; i++)
            {
                var count = U16(elf, entry + 2);
                var file = ReadString(elf, strtab + U32(elf, entry + 4));
                var aux = entry + U32(elf, entry + 8);
                for (var j = 0; j < count; j++)
                {
                    var name = ReadString(elf, strtab + U32(elf, aux + 8));
                    result.Add(new Requirement(file, name, U16(elf, aux + 4), aux + 4));
                    aux += U32(elf, aux + 12);
                }

                var next = U32(elf, entry + 12);
                if (next == 0)
                {
                    break;
                }

                entry += next;
            }
        }

        return result;
    }

    /// <summary>Lists the versions an ELF file defines (<c>.gnu.version_d</c>), e.g. GLIBCXX_3.4.30 for libstdc++.</summary>
    public static IReadOnlyList<string> ReadDefinitions(ReadOnlySpan<byte> elf)
    {
        var result = new List<string>();
        foreach (var (offset, size, link, info) in Sections(elf, ShtGnuVerdef))
        {
            var strtab = SectionOffset(elf, link);
            var entry = offset;
            for (var i = 0; i < info && entry < offset + size; i++)
            {
                var aux = entry + U32(elf, entry + 12);
                result.Add(ReadString(elf, strtab + U32(elf, aux)));
                var next = U32(elf, entry + 16);
                if (next == 0)
                {
                    break;
                }

                entry += next;
            }
        }

        return result;
    }

    /// <summary>
    /// Marks every requirement of <paramref name="version"/> weak in <paramref name="elf"/>.
    /// Returns the number of entries changed (0 when already weak or absent), so calling it twice is harmless.
    /// </summary>
    public static int MarkWeak(Span<byte> elf, string version)
    {
        var changed = 0;
        foreach (var req in ReadRequirements(elf))
        {
            if (req.Version == version && !req.IsWeak)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(elf[(int)req.FlagsOffset..], (ushort)(req.Flags | VerFlagWeak));
                changed++;
            }
        }

        return changed;
    }

    private static IEnumerable<(long Offset, long Size, uint Link, uint Info)> Sections(ReadOnlySpan<byte> elf, uint type)
    {
        CheckHeader(elf);
        var shoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(elf[0x28..]);
        var shentsize = U16(elf, 0x3A);
        var shnum = U16(elf, 0x3C);
        var found = new List<(long, long, uint, uint)>();
        for (var i = 0; i < shnum; i++)
        {
            var sh = shoff + (i * shentsize);
            if (U32(elf, sh + 4) == type)
            {
                found.Add(((long)U64(elf, sh + 0x18), (long)U64(elf, sh + 0x20), U32(elf, sh + 0x28), U32(elf, sh + 0x2C)));
            }
        }

        return found;
    }

    private static long SectionOffset(ReadOnlySpan<byte> elf, uint index)
    {
        var shoff = (long)U64(elf, 0x28);
        var sh = shoff + (index * U16(elf, 0x3A));
        return (long)U64(elf, sh + 0x18);
    }

    private static void CheckHeader(ReadOnlySpan<byte> elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7F || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
        {
            throw new InvalidDataException("not an ELF file");
        }

        if (elf[4] != 2 || elf[5] != 1)
        {
            throw new InvalidDataException("only 64-bit little-endian ELF files are supported");
        }
    }

    private static string ReadString(ReadOnlySpan<byte> elf, long offset)
    {
        var span = elf[(int)offset..];
        var end = span.IndexOf((byte)0);
        return Encoding.ASCII.GetString(end < 0 ? span : span[..end]);
    }

    private static ushort U16(ReadOnlySpan<byte> elf, long offset) => BinaryPrimitives.ReadUInt16LittleEndian(elf[(int)offset..]);

    private static uint U32(ReadOnlySpan<byte> elf, long offset) => BinaryPrimitives.ReadUInt32LittleEndian(elf[(int)offset..]);

    private static ulong U64(ReadOnlySpan<byte> elf, long offset) => BinaryPrimitives.ReadUInt64LittleEndian(elf[(int)offset..]);
}
