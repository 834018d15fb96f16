using Stella.Core.Diagnostics;

namespace Stella.Core.Tests;

public sealed class ProcessMemoryTests
{
    [Theory]
    [InlineData("VmHWM:\t10240000 kB", 10000.0)] // 8 digits: the number touches the tab (the crash of issue 17)
    [InlineData("VmHWM:\t123456789 kB", 123456789 / 1024.0)]
    [InlineData("VmHWM:\t    2048 kB", 2.0)] // the kernel's usual padding
    [InlineData("VmHWM: 2048 kB", 2.0)]
    public void FieldMb_AnyWhitespace_ReadsTheNumber(string line, double mb)
    {
        Assert.Equal(mb, ProcessMemory.FieldMb(["Name:\tdotnet", "VmPeak:\t  999 kB", line, "VmRSS:\t  10 kB"], "VmHWM"));
    }

    [Theory]
    [InlineData("VmHWM:\t kB")]
    [InlineData("VmHWM:")]
    [InlineData("VmHWM:\tlots kB")]
    [InlineData("VmHWM:\t12 MB")]
    public void FieldMb_UnreadableFigure_IsMissingNotAnError(string line)
    {
        Assert.Null(ProcessMemory.FieldMb(["Name:\tdotnet", line], "VmHWM"));
    }

    [Fact]
    public void FieldMb_AbsentField_IsMissing()
    {
        Assert.Null(ProcessMemory.FieldMb(["Name:\tdotnet", "VmRSS:\t  10 kB"], "VmHWM"));
    }

    [Fact]
    public void PeakRssMb_OnLinux_IsAPositiveFigure()
    {
        Assert.True(File.Exists("/proc/self/status"), "this project runs on Linux");
        Assert.InRange(ProcessMemory.PeakRssMb()!.Value, 1, 1e7);
    }
}
