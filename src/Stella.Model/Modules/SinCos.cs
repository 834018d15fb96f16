using static TorchSharp.torch;

namespace Stella.Model.Modules;

/// <summary>2-D sine-cosine position tables (MAE), used to initialise the learnable position embeddings.</summary>
public static class SinCos
{
    /// <summary>A [rows * cols, dim] table, row-major over the grid: half the channels encode the row, half the column.</summary>
    public static Tensor Grid(int rows, int cols, int dim)
    {
        var table = new float[rows * cols * dim];
        var quarter = dim / 4;
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                var offset = ((r * cols) + c) * dim;
                for (var i = 0; i < quarter; i++)
                {
                    var omega = 1.0 / Math.Pow(10000, i / (double)quarter);
                    table[offset + i] = (float)Math.Sin(r * omega);
                    table[offset + quarter + i] = (float)Math.Cos(r * omega);
                    table[offset + (2 * quarter) + i] = (float)Math.Sin(c * omega);
                    table[offset + (3 * quarter) + i] = (float)Math.Cos(c * omega);
                }
            }
        }

        return tensor(table, [rows * cols, dim]);
    }
}
