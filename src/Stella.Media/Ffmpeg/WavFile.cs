using System.Buffers.Binary;

namespace Stella.Media.Ffmpeg;

/// <summary>Minimal PCM WAV writer (16-bit mono): the RIFF header is 44 fixed bytes, no library needed.</summary>
public static class WavFile
{
    /// <summary>Writes <paramref name="samples"/> (in [-1, 1]) as 16-bit mono PCM at <paramref name="sampleRate"/>.</summary>
    public static void WritePcm16(string path, ReadOnlySpan<float> samples, int sampleRate)
    {
        var data = samples.Length * 2;
        var bytes = new byte[44 + data];
        var s = bytes.AsSpan();
        "RIFF"u8.CopyTo(s);
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], 36 + data);
        "WAVEfmt "u8.CopyTo(s[8..]);
        BinaryPrimitives.WriteInt32LittleEndian(s[16..], 16);
        BinaryPrimitives.WriteInt16LittleEndian(s[20..], 1);
        BinaryPrimitives.WriteInt16LittleEndian(s[22..], 1);
        BinaryPrimitives.WriteInt32LittleEndian(s[24..], sampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(s[28..], sampleRate * 2);
        BinaryPrimitives.WriteInt16LittleEndian(s[32..], 2);
        BinaryPrimitives.WriteInt16LittleEndian(s[34..], 16);
        "data"u8.CopyTo(s[36..]);
        BinaryPrimitives.WriteInt32LittleEndian(s[40..], data);
        for (var i = 0; i < samples.Length; i++)
        {
            var v = (short)Math.Clamp((int)Math.Round(samples[i] * 32767.0), short.MinValue, short.MaxValue);
            BinaryPrimitives.WriteInt16LittleEndian(s[(44 + (2 * i))..], v);
        }

        File.WriteAllBytes(path, bytes);
    }
}
