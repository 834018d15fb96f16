using System.Text.Json;
using Stella.Core.Json;

namespace Stella.Core.Tests;

public sealed class ReportJsonTests
{
    [Fact]
    public void Serialize_NonFiniteFigures_AreWrittenAsNull()
    {
        var json = ReportJson.Serialize(new
        {
            nan = double.NaN, inf = double.PositiveInfinity, finite = 1.5, missing = (double?)null, maybe = (double?)double.NaN,
            list = new[] { 1.0, double.NaN, double.NegativeInfinity },
        });
        var root = JsonDocument.Parse(json).RootElement;
        foreach (var name in new[] { "nan", "inf", "missing", "maybe" })
        {
            Assert.Equal(JsonValueKind.Null, root.GetProperty(name).ValueKind);
        }

        Assert.Equal(1.5, root.GetProperty("finite").GetDouble());
        Assert.Equal([JsonValueKind.Number, JsonValueKind.Null, JsonValueKind.Null], root.GetProperty("list").EnumerateArray().Select(v => v.ValueKind));
        Assert.Equal(1.0, root.GetProperty("list")[0].GetDouble());
    }
}
