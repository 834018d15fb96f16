namespace Stella.Pipeline.Augment;

/// <summary>
/// The authors' training augmentations (the <c>augment:</c> section of a stream-train config). All off by default. Training clips
/// only: evaluation (retrieval, linear probe, localization) always takes the centred window without augmentation.
/// </summary>
public sealed class AugmentOptions
{
    /// <summary>A fresh random frame window every epoch (frames k, k+8, k+16, k+24 at 8 fps, k uniform over the clip) instead of one fixed window per clip.</summary>
    public bool RandomWindow { get; set; }

    /// <summary>Multi-scale crop: a square of side 1, 0.875 or 0.75 of the frame at a random position, resized back to the frame size (one crop per clip).</summary>
    public bool MultiScaleCrop { get; set; }

    /// <summary>Adds rand(T, F) * U(0, 1) / 10 to the normalized fbank.</summary>
    public bool FbankNoise { get; set; }

    /// <summary>Rolls the fbank cyclically along time by an integer drawn uniformly from [-T, T).</summary>
    public bool TimeRoll { get; set; }

    /// <summary>True when any augmentation is on.</summary>
    public bool Any => RandomWindow || MultiScaleCrop || FbankNoise || TimeRoll;

    /// <summary>The settings for the config hash ("window,crop,noise,roll" with the ones on).</summary>
    public override string ToString() =>
        string.Join(',', new[] { (RandomWindow, "window"), (MultiScaleCrop, "crop"), (FbankNoise, "noise"), (TimeRoll, "roll") }.Where(x => x.Item1).Select(x => x.Item2));
}
