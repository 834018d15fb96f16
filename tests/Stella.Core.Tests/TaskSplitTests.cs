using Stella.Core.Manifests;
using Stella.Core.Tasks;

namespace Stella.Core.Tests;

public sealed class TaskSplitTests
{
    private static string Pipelines(string name) => Path.Combine(RepoPaths.Root, "pipelines", "tasks", name);

    [Fact]
    public void ContinualAs_HasTheThesisOrder_AndNoClassTwice()
    {
        var split = TaskSplitFile.Load(Pipelines("continual-as.yaml"));
        var map = split.ToTaskMap("continual-as.yaml");
        Assert.Equal(["human", "vehicle", "nature", "animal", "others", "home", "music"], map.Tasks.Select(t => t.Name));
        Assert.Equal(0, map.TaskOf("Baby cry, infant cry"));
        Assert.Equal(6, map.TaskOf("Change ringing (campanology)"));
        Assert.Null(map.TaskOf("Speech"));
        Assert.Equal(["Domestic sounds, home sounds"], split.Tasks[5].Parents);
    }

    [Fact]
    public void ContinualVs_RuleTakesFirstClassesPerCategory_InClassIndexOrder()
    {
        var split = TaskSplitFile.Load(Pipelines("continual-vs.yaml"));
        Assert.Equal(["sports", "music", "vehicle", "people", "animals", "home&nature", "others part1", "others part2"], split.Tasks.Select(t => t.Name));

        // A VGGSound-like class file: 25 classes in each category, plus the 8 named 'others' classes.
        var classes = new List<(string, string)>();
        foreach (var category in new[] { "sports", "music", "vehicle", "people", "animals", "home", "nature", "tools", "others" })
        {
            classes.AddRange(Enumerable.Range(0, 25).Select(i => ($"{category} {i:D2}", category)));
        }

        classes.Insert(3, ("slot machine", "others"));
        classes.AddRange(split.Tasks[6].ExtraClasses.Where(e => e != "slot machine").Select(e => (e, "others")));

        var map = split.ApplyCategoryRule(classes, "stat.csv");

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"sports {i:D2}"), map.Tasks[0].Classes);
        Assert.Equal(20, map.Tasks[5].Classes.Count);
        Assert.All(map.Tasks[5].Classes, c => Assert.True(c.StartsWith("home", StringComparison.Ordinal) || c.StartsWith("nature", StringComparison.Ordinal)));
        // others part1: tools and the named classes, in class-index order ("slot machine" comes early).
        Assert.Equal("slot machine", map.Tasks[6].Classes[0]);
        Assert.Equal(20, map.Tasks[6].Classes.Count);
        // others part2: the remaining 'others' classes only.
        Assert.All(map.Tasks[7].Classes, c => Assert.StartsWith("others", c));
        Assert.Equal(map.Tasks.Sum(t => t.Classes.Count), map.Tasks.SelectMany(t => t.Classes).Distinct().Count());
    }

    [Fact]
    public void ContinualVs_ExtraClassMissingFromClassFile_IsNamed()
    {
        var split = TaskSplitFile.Load(Pipelines("continual-vs.yaml"));
        var e = Assert.Throws<ManifestException>(() => split.ApplyCategoryRule([("a", "tools"), ("b", "sports")], "stat.csv"));
        Assert.Contains("fireworks banging", e.Message);
    }

    [Fact]
    public void Load_TypoInKey_NamesFileAndLine()
    {
        var path = RepoPaths.Write(RepoPaths.TempDir(), "bad.yaml", "name: x\ntasks:\n  - name: a\n    clases: [b]\n");
        var e = Assert.Throws<ManifestException>(() => TaskSplitFile.Load(path));
        Assert.Equal(4, e.Row);
        Assert.Contains("clases", e.Message);
    }

    [Fact]
    public void TaskMap_SameClassInTwoTasks_IsRefused()
    {
        var e = Assert.Throws<ManifestException>(() => new TaskMap("x", [new TaskDefinition("a", ["dog"]), new TaskDefinition("b", ["dog"])]));
        Assert.Contains("'dog' is listed in task 'a' and again in task 'b'", e.Message);
    }
}
