using System.CommandLine;
using Stella.Media.Decode;
using Stella.Media.Features;
using Stella.Media.Inspect;

namespace Stella.Cli;

/// <summary><c>stella inspect</c>: what the data path makes of one clip, as arrays and pictures.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var clip = new Argument<string>("clip") { Description = "An MP4 (audio and video) or a WAV (audio only)." };
        var output = new Option<string>("--out") { Description = "Folder for the files.", Required = true };
        var size = new Option<int>("--frame-size") { Description = "Frame side after resizing (multiple of 16).", DefaultValueFactory = _ => new DecodeOptions().FrameSize };
        var target = new Option<int>("--target-frames") { Description = "Spectrogram length after pad/cut (multiple of 16); 1024 = 10.24 s as the reference.", DefaultValueFactory = _ => new AudioFeatureOptions().TargetFrames };
        var command = new Command("inspect",
            "Decode one clip as training would see it (evaluation window) and write fbank.npy (raw Kaldi fbank [frames, 128], " +
            "before pad/cut and normalization), frames.npy (uint8 [F, H, W, 3]), audio_patches.npy and video_patches.npy " +
            "(float32 [tokens, 16*16(*3)]), spectrogram.png and frames.png.")
        {
            clip, output, size, target,
        };
        command.SetAction(async (parse, ct) =>
        {
            var decoder = new ClipDecoder(new DecodeOptions { FrameSize = parse.GetValue(size), MinSeconds = 0.05 });
            var inspector = new ClipInspector(decoder, new AudioFeatures(new AudioFeatureOptions { TargetFrames = parse.GetValue(target) }));
            var files = await inspector.InspectAsync(parse.GetValue(clip)!, parse.GetValue(output)!, ct);
            foreach (var file in files)
            {
                Console.WriteLine(file);
            }

            return 0;
        });
        return command;
    }
}
