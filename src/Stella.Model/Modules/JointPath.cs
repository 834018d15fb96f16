namespace Stella.Model.Modules;

/// <summary>Which LayerNorm pair a joint block uses.</summary>
public enum JointPath
{
    /// <summary>The shared pair: audio and video tokens together (the MAE and AVM path).</summary>
    Shared,

    /// <summary>The audio pair: audio tokens alone (the contrastive path).</summary>
    Audio,

    /// <summary>The video pair: video tokens alone (the contrastive path).</summary>
    Video,
}
