using Stella.Core.Manifests;
using Stella.Core.Tasks;

namespace Stella.Core.Tests;

public sealed class ManifestMissingTests
{
    [Fact]
    public void Read_MissingManifestInAMissingFolder_SaysWhereAndHowToCreateIt()
    {
        var dir = Path.Combine(RepoPaths.TempDir(), "data", "synth");
        var path = Path.Combine(dir, "manifest.csv");

        var e = Assert.Throws<ManifestException>(() => StellaManifestReader.Read(path));

        Assert.IsAssignableFrom<UserInputException>(e);
        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith($"{path}: manifest not found", e.Message);
        Assert.Contains($"stella synth --out {dir}", e.Message);
    }

    [Fact]
    public void Read_ManifestWithoutItsTaskFile_NamesTheTaskFileExpected()
    {
        var dir = RepoPaths.TempDir();
        var path = RepoPaths.Write(dir, "manifest.csv", "clip_id,path,label,task,split\nc1,a.mp4,dog,0,train\n");

        var e = Assert.Throws<ManifestException>(() => StellaManifestReader.Read(path));

        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith($"{Path.Combine(dir, "tasks.json")}: task file not found", e.Message);
        Assert.Contains("beside the manifest", e.Message);
    }

    [Fact]
    public void Read_ManifestAndTaskFile_StillRead()
    {
        var dir = RepoPaths.TempDir();
        TaskMap.Write(Path.Combine(dir, "tasks.json"), "test", [new TaskDefinition("a", ["dog"])]);
        var path = RepoPaths.Write(dir, "manifest.csv", "clip_id,path,label,task,split\nc1,a.mp4,dog,0,train\n");

        Assert.Single(StellaManifestReader.Read(path).Clips);
    }
}
