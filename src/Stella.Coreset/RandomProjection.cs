using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Coreset;

/// <summary>What projecting before clustering did to the full-space k-means objective (summary.json "projection").</summary>
/// <param name="Dims">Projected dimension.</param>
/// <param name="ObjectiveProjected">Mean cosine to the assigned centroid in the projected space, after the last iteration.</param>
/// <param name="ObjectiveFullSpace">The same in the full space, with each centroid the normalized mean of its rows' full vectors.</param>
/// <param name="SampleRows">Rows drawn (seeded) for the exact full-space check.</param>
/// <param name="SampleAgreement">Share of them whose assigned cluster is also their nearest full-space centroid.</param>
/// <param name="SampleObjectiveAssigned">Their mean full-space cosine to the assigned centroid.</param>
/// <param name="SampleObjectiveBest">Their mean full-space cosine to the nearest full-space centroid (what exact assignment would give).</param>
public sealed record ProjectionEffect(int Dims, double ObjectiveProjected, double ObjectiveFullSpace, int SampleRows, double SampleAgreement, double SampleObjectiveAssigned, double SampleObjectiveBest);

/// <summary>
/// The approximation setting for inputs too wide to cluster exactly in the time there is (LLaVA-1.5's 20,480-wide activations: one
/// exact assignment pass at K = 10,000 is 2.7e14 flops, about half an hour on two cores): rows are projected onto a seeded Gaussian
/// matrix (Johnson-Lindenstrauss: inner products are kept to within about sqrt(log N / dims)), renormalized and clustered there;
/// the centroids are then rebuilt in the full space from the assignments, and the effect on the full-space objective is measured.
/// </summary>
public static class RandomProjection
{
    /// <summary>Projects every row of <paramref name="x"/> to <paramref name="dims"/> dimensions (one pass over the file), renormalized.</summary>
    public static DenseRows Project(IRowSource x, int dims, int seed, Device? device = null)
    {
        if (dims < 1 || dims >= x.Dims)
        {
            throw new Stella.Core.UserInputException($"--project must be in [1, D) (got {dims}, D = {x.Dims}); leave it out to cluster in the full space");
        }

        if ((long)x.Rows * dims > Array.MaxLength)
        {
            throw new Stella.Core.UserInputException($"--project {dims}: N x dims = {(long)x.Rows * dims} values do not fit one array; choose a smaller projection");
        }

        var dev = device ?? CPU;
        using var generator = new Generator((ulong)seed);
        using var drawn = randn(x.Dims, dims, generator: generator);
        using var matrix = drawn.to(dev);
        var output = new float[(long)x.Rows * dims];
        RowBlocks.Each(x, RowBlocks.Auto(x.Dims), dev, (start, rows) =>
        {
            var projected = nn.functional.normalize(rows.matmul(matrix), p: 2, dim: 1).cpu();
            projected.data<float>().ToArray().CopyTo(output, (long)start * dims);
        });

        return new DenseRows(output, x.Rows, dims);
    }

    /// <summary>
    /// Full-space centroids from <paramref name="assignments"/> (one pass: each centroid the normalized sum of its rows) and the
    /// full-space objective, which for such centroids is sum over clusters of |sum of rows| / N.
    /// </summary>
    public static (float[] Centroids, double Objective) FullSpaceCentroids(IRowSource x, int[] assignments, int k, Device? device = null)
    {
        var dev = device ?? CPU;
        using var scope = NewDisposeScope();
        var sums = zeros(k, x.Dims, device: dev);
        RowBlocks.Each(x, RowBlocks.Auto(x.Dims), dev, (start, rows) =>
        {
            sums.index_add_(0, RowBlocks.Indices(assignments.AsSpan(start, (int)rows.shape[0]), dev), rows, Stella.Model.Runtime.Scalars.One);
        });

        var objective = sums.norm(1).sum(type: ScalarType.Float64).item<double>() / x.Rows;
        return (nn.functional.normalize(sums, p: 2, dim: 1).cpu().data<float>().ToArray(), objective);
    }

    /// <summary>
    /// The exact full-space check on <paramref name="sample"/> seeded rows: how many keep their cluster when assigned exactly to the
    /// full-space centroids, and the mean cosine to the assigned and to the nearest centroid.
    /// </summary>
    public static (int Rows, double Agreement, double Assigned, double Best) Check(IRowSource x, float[] centroids, int[] assignments, int sample, int seed, Device? device = null)
    {
        var dev = device ?? CPU;
        var k = centroids.Length / x.Dims;
        var rows = Enumerable.Range(0, x.Rows).ToArray();
        new Random(seed).Shuffle(rows);
        var picked = rows.Take(Math.Min(sample, x.Rows)).Order().ToArray();
        using var c = tensor(centroids, [k, x.Dims], device: dev);
        int agree = 0;
        double assigned = 0, best = 0;
        var block = RowBlocks.Auto(Math.Max(x.Dims, k));
        using var buffer = empty(Math.Min(block, picked.Length), x.Dims);
        for (var start = 0; start < picked.Length; start += block)
        {
            using var scope = NewDisposeScope();
            var part = picked.AsSpan(start, Math.Min(block, picked.Length - start)).ToArray();
            x.ReadRows(part, RowBlocks.Memory(buffer)[..(part.Length * x.Dims)]);
            var r = buffer.narrow(0, 0, part.Length).to(dev);
            var scores = r.matmul(c.t());
            var (top, index) = scores.max(1);
            var own = scores.gather(1, RowBlocks.Indices(part.Select(i => assignments[i]).ToArray(), dev).unsqueeze(1)).squeeze(1);
            var nearest = index.cpu().data<long>().ToArray();
            agree += part.Where((row, i) => nearest[i] == assignments[row]).Count();
            assigned += own.sum().to_type(ScalarType.Float64).item<double>();
            best += top.sum().to_type(ScalarType.Float64).item<double>();
        }

        return (picked.Length, (double)agree / picked.Length, assigned / picked.Length, best / picked.Length);
    }
}
