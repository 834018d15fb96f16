using Stella.Core.Diagnostics;

namespace Stella.Core.Tests;

public sealed class ProcessMemoryTests
{
    [Theory]
    [InlineData("VmHWM:\t    2216 kB", 2216)]
    [InlineData("VmHWM:\t16260004 kB", 16260004)] // above 9,999,999 kB the kernel leaves no space after the tab (a 16 GB base run)
    public void StatusKb_ReadsTheFigure_PaddedOrNot(string line, double kb) => Assert.Equal(kb, ProcessMemory.StatusKb(line));

    [Fact]
    public void PeakRssMb_OfThisProcess_IsPositive() => Assert.True(ProcessMemory.PeakRssMb() > 0);
}
