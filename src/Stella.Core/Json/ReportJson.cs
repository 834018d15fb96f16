using System.Text.Json;
using System.Text.Json.Serialization;

namespace Stella.Core.Json;

/// <summary>
/// How reports (results.json, summaries) are written: indented, and a figure that could not be measured (NaN or infinity, e.g. a
/// peak RSS without /proc or a modality gap of an empty task) as <c>null</c>. System.Text.Json refuses non-finite numbers by
/// default, which would cost the run its results for the sake of one figure.
/// </summary>
public static class ReportJson
{
    /// <summary>The options: indented, non-finite doubles as null.</summary>
    public static readonly JsonSerializerOptions Options = new() { WriteIndented = true, Converters = { new NonFiniteDoubleAsNull() } };

    /// <summary>Serializes <paramref name="value"/> with <see cref="Options"/>.</summary>
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    private sealed class NonFiniteDoubleAsNull : JsonConverter<double>
    {
        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value))
            {
                writer.WriteNumberValue(value);
            }
            else
            {
                writer.WriteNullValue();
            }
        }
    }
}
