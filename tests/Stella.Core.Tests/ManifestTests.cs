using Stella.Core.Manifests;
using Stella.Core.Tasks;

namespace Stella.Core.Tests;

public sealed class ManifestTests
{
    private static string WithTasks(string dir)
    {
        TaskMap.Write(Path.Combine(dir, "tasks.json"), "test", [new TaskDefinition("a", ["dog", "cat"]), new TaskDefinition("b", ["car"])]);
        return dir;
    }

    [Fact]
    public void StellaManifest_RoundTripsThroughTheWriter_WithQuotedLabels()
    {
        var dir = RepoPaths.TempDir();
        TaskMap.Write(Path.Combine(dir, "tasks.json"), "test", [new TaskDefinition("a", ["dog, barking"]), new TaskDefinition("b", ["car"])]);
        ClipRecord[] clips =
        [
            new("c1", "clips/c1.mp4", "dog, barking", 0, ClipSplit.Train),
            new("c2", "clips/c2.mp4", "dog, barking", 0, ClipSplit.Retrieval),
            new("c3", "clips/c3.mp4", "car", 1, ClipSplit.Test),
            new("w1", "clips/w1.mp4", "bird", -1, ClipSplit.Base),
        ];
        StellaManifestWriter.Write(Path.Combine(dir, "manifest.csv"), clips);

        var read = StellaManifestReader.Read(Path.Combine(dir, "manifest.csv"));

        Assert.Equal(clips, read.Clips.Select(c => c with { Row = 0 }));
        Assert.Equal([2, 3, 4, 5], read.Clips.Select(c => c.Row));
        Assert.Equal(["w1"], read.Split(ClipSplit.Base).Select(c => c.ClipId));
        Assert.Equal(["a", "b"], read.Tasks.Tasks.Select(t => t.Name));
    }

    [Theory]
    [InlineData("clip_id,path,label,task\n", 1, "expected the header")]
    [InlineData("clip_id,path,label,task,split\nc1,a.mp4,dog,0,train\nc2,b.mp4,dog,0\n", 3, "expected 5 columns")]
    [InlineData("clip_id,path,label,task,split\nc1,a.mp4,dog,7,train\n", 2, "not a task index 0..1")]
    [InlineData("clip_id,path,label,task,split\nc1,a.mp4,dog,0,validation\n", 2, "split 'validation'")]
    [InlineData("clip_id,path,label,task,split\nc1,a.mp4,dog,0,train\nc1,b.mp4,cat,0,train\n", 3, "duplicate clip_id 'c1'")]
    [InlineData("clip_id,path,label,task,split\nc1,a.mp4,car,1,train\nc2,b.mp4,dog,0,train\n", 3, "must be task-ordered")]
    [InlineData("clip_id,path,label,task,split\nc1,a.mp4,car,0,train\n", 2, "belongs to task 1")]
    [InlineData("clip_id,path,label,task,split\nw1,a.mp4,bird,0,base\n", 2, "a base (warm-up) row has the task '-'")]
    [InlineData("clip_id,path,label,task,split\nw1,a.mp4,cat,-,base\n", 2, "warm-up classes must be disjoint from every task's")]
    public void StellaManifest_BadRow_NamesFileRowAndProblem(string text, int row, string problem)
    {
        var dir = WithTasks(RepoPaths.TempDir());
        var path = RepoPaths.Write(dir, "manifest.csv", text);
        var e = Assert.Throws<ManifestException>(() => StellaManifestReader.Read(path));
        Assert.Equal(row, e.Row);
        Assert.Contains(problem, e.Message);
        Assert.StartsWith($"{path}:{row}: ", e.Message);
    }

    [Fact]
    public void VggSound_KeepsTaskClasses_FirstNTrain_FirstRetrieval_AndNamesFiles()
    {
        var dir = RepoPaths.TempDir();
        var csv = RepoPaths.Write(dir, "vggsound.csv", """
            ---g-abc,30,dog barking,train
            zzz,0,unused class,train
            a1,10,"people, crowd",train
            a2,20,dog barking,train
            a3,40,dog barking,train
            t1,5,dog barking,test
            t2,6,dog barking,test
            t3,7,"people, crowd",test
            """);
        var tasks = new TaskMap("vs", [new TaskDefinition("animals", ["dog barking"]), new TaskDefinition("people", ["people, crowd"])]);

        var m = VggSoundManifestReader.Read(csv, tasks, trainPerClass: 2, retrievalPerClass: 1);

        Assert.Equal(["---g-abc_000030", "a2_000020", "t1_000005", "t2_000006", "a1_000010", "t3_000007"], m.Clips.Select(c => c.ClipId));
        Assert.Equal("---g-abc_000030.mp4", m.Clips[0].RelativePath);
        Assert.Equal([ClipSplit.Train, ClipSplit.Train, ClipSplit.Retrieval, ClipSplit.Test, ClipSplit.Train, ClipSplit.Retrieval], m.Clips.Select(c => c.Split));
        Assert.Equal([0, 0, 0, 0, 1, 1], m.Clips.Select(c => c.Task));
    }

    [Theory]
    [InlineData("a,10,dog barking\n", "expected 4 columns")]
    [InlineData("a,10,dog barking,train\nb,ten,dog barking,train\n", "must be a non-negative number of seconds, got 'ten'")]
    [InlineData("a,10,dog barking,valid\n", "split 'valid' is not train or test")]
    public void VggSound_BadRow_IsRefusedWithRowNumber(string text, string problem)
    {
        var path = RepoPaths.Write(RepoPaths.TempDir(), "vggsound.csv", text);
        var tasks = new TaskMap("vs", [new TaskDefinition("animals", ["dog barking"])]);
        var e = Assert.Throws<ManifestException>(() => VggSoundManifestReader.Read(path, tasks));
        Assert.Contains(problem, e.Message);
        Assert.Contains($"{path}:{text.Count(c => c == '\n')}:", e.Message);
    }

    [Fact]
    public void AudioSet_UsesOntologyNames_FirstListedLabelDecidesTask_AndSkipsOthers()
    {
        var dir = RepoPaths.TempDir();
        var ontology = RepoPaths.Write(dir, "ontology.json", """
            [{"id": "/m/bark", "name": "Bark"}, {"id": "/m/car", "name": "Car alarm"}, {"id": "/m/x", "name": "Speech"}]
            """);
        var csv = RepoPaths.Write(dir, "balanced_train_segments.csv", """
            # Segments csv created Sun Mar  5 10:54:31 2017
            # YTID, start_seconds, end_seconds, positive_labels
            --aaa, 30.000, 40.000, "/m/x,/m/car,/m/bark"
            --bbb, 0.000, 10.000, "/m/x"
            --ccc, 10.000, 20.000, "/m/bark"
            """);
        var tasks = new TaskMap("as", [new TaskDefinition("vehicle", ["Car alarm"]), new TaskDefinition("animal", ["Bark"])]);
        var names = AudioSetManifestReader.ReadOntology(ontology);

        var m = AudioSetManifestReader.Read(csv, names, tasks, ClipSplit.Train);

        Assert.Equal(["--aaa_30", "--ccc_10"], m.Clips.Select(c => c.ClipId));
        Assert.Equal(["Car alarm", "Bark"], m.Clips.Select(c => c.Label));
        Assert.Equal([0, 1], m.Clips.Select(c => c.Task));
        Assert.Equal([3, 5], m.Clips.Select(c => c.Row));
    }

    [Fact]
    public void AudioSet_UnknownLabel_IsRefusedWithRow()
    {
        var dir = RepoPaths.TempDir();
        var csv = RepoPaths.Write(dir, "eval.csv", "# header\nabc, 0.0, 10.0, \"/m/nope\"\n");
        var tasks = new TaskMap("as", [new TaskDefinition("animal", ["Bark"])]);
        var e = Assert.Throws<ManifestException>(() => AudioSetManifestReader.Read(csv, new Dictionary<string, string>(), tasks, ClipSplit.Test));
        Assert.Equal(2, e.Row);
        Assert.Contains("'/m/nope' is not in the ontology", e.Message);
    }
    [Fact]
    public void Reordered_RenumbersTheTasks_KeepsEachTasksClipsInOrder_AndRefusesWhatIsNoOrder()
    {
        var tasks = new TaskMap("b", [new TaskDefinition("t0", ["a"]), new TaskDefinition("t1", ["b"]), new TaskDefinition("t2", ["c"])]);
        var clips = new List<ClipRecord>
        {
            new("w", "w.mp4", "z", -1, ClipSplit.Base),
            new("a1", "a1.mp4", "a", 0, ClipSplit.Train), new("a2", "a2.mp4", "a", 0, ClipSplit.Retrieval),
            new("b1", "b1.mp4", "b", 1, ClipSplit.Train),
            new("c1", "c1.mp4", "c", 2, ClipSplit.Train), new("c2", "c2.mp4", "c", 2, ClipSplit.Train),
        };
        var manifest = new ClipManifest("m.csv", tasks, clips).Reordered([2, 0, 1]);

        Assert.Equal(["t2", "t0", "t1"], manifest.Tasks.Tasks.Select(t => t.Name));
        Assert.Equal(0, manifest.Tasks.TaskOf("c"));
        Assert.Equal(["w", "c1", "c2", "a1", "a2", "b1"], manifest.Clips.Select(c => c.ClipId));
        Assert.Equal([-1, 0, 0, 1, 1, 2], manifest.Clips.Select(c => c.Task));

        foreach (var bad in new[] { new[] { 0, 1 }, [0, 0, 1], [0, 1, 3] })
        {
            var e = Assert.Throws<UserInputException>(() => new ClipManifest("m.csv", tasks, clips).Reordered(bad));
            Assert.Equal($"task_order [{string.Join(", ", bad)}] is not an order of the 3 tasks of m.csv: list each of 0..2 once", e.Message);
        }
    }
}
