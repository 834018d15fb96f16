using Stella.Media.Patches;

namespace Stella.Media.Tests;

public sealed class PatchifyTests
{
    [Fact]
    public void Audio_IsTimeMajor_AndRoundTrips()
    {
        const int T = 64, F = 32;
        var fbank = Enumerable.Range(0, T * F).Select(i => (float)i).ToArray();
        var patches = Patchify.Audio(fbank, T, F);

        // Token t * Fp + f holds rows t*16.. and columns f*16..; value order inside: (time, freq).
        const int Fp = F / 16;
        for (var t = 0; t < T / 16; t++)
        {
            for (var f = 0; f < Fp; f++)
            {
                var token = (t * Fp) + f;
                for (var pt = 0; pt < 16; pt++)
                {
                    for (var pf = 0; pf < 16; pf++)
                    {
                        var expected = fbank[(((t * 16) + pt) * F) + (f * 16) + pf];
                        Assert.Equal(expected, patches[(token * 256) + (pt * 16) + pf]);
                    }
                }
            }
        }

        Assert.Equal(fbank, Patchify.AudioInverse(patches, T, F));
    }

    [Fact]
    public void Video_IsFrameThenRowThenColumn_AndRoundTrips()
    {
        const int N = 3, C = 3, H = 32, W = 48;
        var frames = Enumerable.Range(0, N * C * H * W).Select(i => (float)i).ToArray();
        var patches = Patchify.Video(frames, N, C, H, W);
        const int Hp = H / 16, Wp = W / 16, Dim = C * 256;
        var rng = new Random(3);
        for (var k = 0; k < 200; k++)
        {
            int t = rng.Next(N), h = rng.Next(Hp), w = rng.Next(Wp), c = rng.Next(C), ph = rng.Next(16), pw = rng.Next(16);
            var token = (t * Hp * Wp) + (h * Wp) + w;
            var expected = frames[(((((t * C) + c) * H) + (h * 16) + ph) * W) + (w * 16) + pw];
            Assert.Equal(expected, patches[(token * Dim) + (c * 256) + (ph * 16) + pw]);
        }

        Assert.Equal(frames, Patchify.VideoInverse(patches, N, C, H, W));
    }

    [Fact]
    public void Audio_ShapeNotMultipleOfPatch_IsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => Patchify.Audio(new float[20 * 32], 20, 32));
        Assert.Contains("time frames (20)", e.Message);
    }
}
