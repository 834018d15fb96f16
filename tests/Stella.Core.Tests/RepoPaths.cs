namespace Stella.Core.Tests;

internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string TempDir()
    {
        return Stella.Tests.Shared.TestTemp.Dir();
    }

    public static string Write(string dir, string name, string text)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Stella.Pipeline.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Stella.Pipeline.sln not found above the test folder");
    }
}
