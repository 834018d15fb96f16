namespace Stella.Core.Metrics;

/// <summary>Modality gap: the distance between the means of the L2-normalized audio and video embeddings.</summary>
public static class ModalityGap
{
    /// <summary>|| mean(normalize(audio)) - mean(normalize(video)) ||.</summary>
    public static double Compute(float[][] audio, float[][] video)
    {
        if (audio.Length == 0 || audio.Length != video.Length)
        {
            throw new ArgumentException("audio and video embeddings must be non-empty and paired");
        }

        var d = audio[0].Length;
        var diff = new double[d];
        foreach (var (a, v) in audio.Select(Retrieval.Normalize).Zip(video.Select(Retrieval.Normalize)))
        {
            for (var k = 0; k < d; k++)
            {
                diff[k] += (a[k] - v[k]) / (double)audio.Length;
            }
        }

        return Math.Sqrt(diff.Sum(x => x * x));
    }
}
