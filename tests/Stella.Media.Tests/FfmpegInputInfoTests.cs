using Stella.Media.Decode;

namespace Stella.Media.Tests;

public sealed class FfmpegInputInfoTests
{
    [Fact]
    public void Parse_ReadsDurationAndStreamsOfInputZeroOnly()
    {
        string[] stderr =
        [
            "ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026 the FFmpeg developers",
            "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'clip.mp4':",
            "  Metadata:",
            "    major_brand     : isom",
            "  Duration: 00:01:06.25, start: 0.000000, bitrate: 152 kb/s",
            "  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 128x128, 8 fps (default)",
            "  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 16000 Hz, mono, fltp, 74 kb/s (default)",
            "Stream mapping:",
            "  Stream #0:1 -> #0:0 (aac (native) -> pcm_f32le (native))",
            "Output #0, f32le, to 'pipe:':",
            "  Stream #0:0: Audio: pcm_f32le, 16000 Hz, mono, flt, 512 kb/s",
        ];
        Assert.Equal(new FfmpegInputInfo(true, 66.25, true, true), FfmpegInputInfo.Parse(stderr));
    }

    [Fact]
    public void Parse_AudioOnlyWithCoverArt_HasNoVideo()
    {
        string[] stderr =
        [
            "Input #0, mp3, from 'song.mp3':",
            "  Duration: N/A, start: 0.025057, bitrate: 128 kb/s",
            "  Stream #0:0: Audio: mp3, 44100 Hz, stereo, fltp, 128 kb/s",
            "  Stream #0:1: Video: mjpeg (Baseline), yuvj420p(pc), 500x500, 90k tbr, 90k tbn (attached pic)",
        ];
        Assert.Equal(new FfmpegInputInfo(true, null, true, false), FfmpegInputInfo.Parse(stderr));
    }

    [Fact]
    public void Parse_UnreadableInput_IsNotFound()
    {
        Assert.False(FfmpegInputInfo.Parse(["garbage.mp4: Invalid data found when processing input"]).Found);
    }
}
