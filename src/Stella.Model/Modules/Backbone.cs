using Stella.Model.Config;
using Stella.Model.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Stella.Model.Modules;

/// <summary>
/// CAV-MAE style backbone: per-modality patch embeddings with learnable position (2-D sin-cos initialised) and modality
/// embeddings, modality blocks, joint blocks with shared and per-modality LayerNorms, and an MAE decoder with mask tokens.
/// Every method takes patch tensors with the original token index of each patch, so a selected subset keeps its positions.
/// </summary>
public sealed class Backbone : nn.Module
{
    private readonly Linear audio_embed;
    private readonly Linear video_embed;
    private readonly Parameter audio_pos;
    private readonly Parameter video_pos;
    private readonly Parameter audio_modality;
    private readonly Parameter video_modality;
    private readonly Parameter audio_inter_pos;
    private readonly Parameter video_inter_pos;
    private readonly ModuleList<Block> audio_blocks;
    private readonly ModuleList<Block> video_blocks;
    private readonly ModuleList<JointBlock> joint_blocks;
    private readonly LayerNorm norm;
    private readonly LayerNorm norm_a;
    private readonly LayerNorm norm_v;
    private readonly Linear decoder_embed;
    private readonly Parameter mask_token;
    private readonly Parameter decoder_audio_pos;
    private readonly Parameter decoder_video_pos;
    private readonly Parameter decoder_audio_modality;
    private readonly Parameter decoder_video_modality;
    private readonly ModuleList<Block> decoder_blocks;
    private readonly LayerNorm decoder_norm;
    private readonly Linear decoder_pred_a;
    private readonly Linear decoder_pred_v;

    /// <summary>Builds the backbone of <paramref name="config"/>, initialised from the current torch seed.</summary>
    public Backbone(ModelConfig config) : base(nameof(Backbone))
    {
        Config = config;
        var d = config.Dim;
        audio_embed = nn.Linear(config.AudioPatchDim, d);
        video_embed = nn.Linear(config.VideoPatchDim, d);
        // The tables are temporaries: disposed here, not left to the finalizer (which could free one while a native call reads it);
        // the parameters are views that keep the storage alive.
        using var audioGrid = SinCos.Grid(config.AudioTimeTokens, config.AudioFreqTokens, d);
        using var frameGrid = SinCos.Grid(config.FrameSize / config.Patch, config.FrameSize / config.Patch, d);
        using var frames = frameGrid.repeat(config.Frames, 1);
        audio_pos = nn.Parameter(audioGrid.unsqueeze(0));
        video_pos = nn.Parameter(frames.unsqueeze(0));
        audio_modality = nn.Parameter(torch.zeros(1, 1, d));
        video_modality = nn.Parameter(torch.zeros(1, 1, d));
        // The authors' inter_pos_embed (added after the modality blocks). Zeros draw nothing from the generator, so every other
        // weight is initialised exactly as without it; frozen until imported weights turn it on (InterPositionLearned).
        audio_inter_pos = nn.Parameter(torch.zeros(1, config.AudioTokens, d), requires_grad: false);
        video_inter_pos = nn.Parameter(torch.zeros(1, config.VideoTokens, d), requires_grad: false);
        audio_blocks = nn.ModuleList(Enumerable.Range(0, config.ModalityDepth).Select(_ => new Block(d, config.Heads, config.MlpRatio)).ToArray());
        video_blocks = nn.ModuleList(Enumerable.Range(0, config.ModalityDepth).Select(_ => new Block(d, config.Heads, config.MlpRatio)).ToArray());
        joint_blocks = nn.ModuleList(Enumerable.Range(0, config.JointDepth).Select(_ => new JointBlock(d, config.Heads, config.MlpRatio)).ToArray());
        norm = nn.LayerNorm(d, 1e-6);
        norm_a = nn.LayerNorm(d, 1e-6);
        norm_v = nn.LayerNorm(d, 1e-6);

        var dd = config.DecoderDim;
        decoder_embed = nn.Linear(d, dd);
        mask_token = nn.Parameter(torch.zeros(1, 1, dd));
        using var decoderAudioGrid = SinCos.Grid(config.AudioTimeTokens, config.AudioFreqTokens, dd);
        using var decoderFrameGrid = SinCos.Grid(config.FrameSize / config.Patch, config.FrameSize / config.Patch, dd);
        using var decoderFrames = decoderFrameGrid.repeat(config.Frames, 1);
        decoder_audio_pos = nn.Parameter(decoderAudioGrid.unsqueeze(0));
        decoder_video_pos = nn.Parameter(decoderFrames.unsqueeze(0));
        decoder_audio_modality = nn.Parameter(torch.zeros(1, 1, dd));
        decoder_video_modality = nn.Parameter(torch.zeros(1, 1, dd));
        decoder_blocks = nn.ModuleList(Enumerable.Range(0, config.DecoderDepth).Select(_ => new Block(dd, config.DecoderHeads, config.MlpRatio)).ToArray());
        decoder_norm = nn.LayerNorm(dd, 1e-6);
        decoder_pred_a = nn.Linear(dd, config.AudioPatchDim);
        decoder_pred_v = nn.Linear(dd, config.VideoPatchDim);
        RegisterComponents();

        using (torch.no_grad())
        {
            foreach (var p in new[] { audio_modality, video_modality, mask_token, decoder_audio_modality, decoder_video_modality })
            {
                nn.init.normal_(p, 0, 0.02);
            }

            using var gain = config.PatchEmbedGain.ToScalar();
            audio_embed.weight!.mul_(gain);
            video_embed.weight!.mul_(gain);
        }
    }

    /// <summary>The sizes.</summary>
    public ModelConfig Config { get; }

    /// <summary>
    /// Whether the position embeddings added after the modality blocks (the authors' <c>inter_pos_embed</c>) train. Off by default:
    /// they stay zero and the model computes what it computed before they existed; importing weights turns them on, as the
    /// authors train them.
    /// </summary>
    public bool InterPositionLearned
    {
        get => audio_inter_pos.requires_grad;
        set
        {
            audio_inter_pos.requires_grad = value;
            video_inter_pos.requires_grad = value;
        }
    }

    /// <summary>Original token indices 0..count-1 for a batch of <paramref name="batch"/>.</summary>
    public static Tensor AllIndices(long batch, int count, Device device)
    {
        using var range = TensorOps.Range(0, count, device);
        using var row = range.unsqueeze(0);
        return row.expand(batch, count);
    }

    /// <summary>
    /// Encodes full, unmasked inputs (evaluation, AVM scoring): joint outputs and, unless <paramref name="pooled"/> is false
    /// (scoring needs none: it saves two joint passes), pooled unimodal embeddings.
    /// </summary>
    public Encoding Encode(Tensor audioPatches, Tensor videoPatches, bool pooled = true)
    {
        var b = audioPatches.shape[0];
        using var ia = AllIndices(b, (int)audioPatches.shape[1], audioPatches.device);
        using var iv = AllIndices(b, (int)videoPatches.shape[1], videoPatches.device);
        var (ma, mv) = Modality(Embed(audio_embed, audio_pos, audio_modality, audioPatches, ia), ia, Embed(video_embed, video_pos, video_modality, videoPatches, iv), iv);
        var (ja, jv) = JointShared(ma, mv);
        return pooled
            ? new Encoding(ja, jv, Pool(ma, JointPath.Audio), Pool(mv, JointPath.Video), ma, mv)
            : new Encoding(ja, jv, torch.empty(0), torch.empty(0), ma, mv);
    }

    /// <summary>
    /// The attention sub-layer outputs (before the residual add) of every block on full inputs, as COINCIDE reads a model: layers
    /// 0..ModalityDepth-1 are the modality blocks (audio block l on the audio tokens, video block l on the video tokens), the next
    /// JointDepth layers the joint blocks on the shared path (their output split into the audio and the video tokens).
    /// </summary>
    public List<(Tensor Audio, Tensor Video)> AttentionActivations(Tensor audioPatches, Tensor videoPatches)
    {
        var b = audioPatches.shape[0];
        using var ia = AllIndices(b, (int)audioPatches.shape[1], audioPatches.device);
        using var iv = AllIndices(b, (int)videoPatches.shape[1], videoPatches.device);
        var a = Embed(audio_embed, audio_pos, audio_modality, audioPatches, ia);
        var v = Embed(video_embed, video_pos, video_modality, videoPatches, iv);
        var layers = new List<(Tensor, Tensor)>();
        for (var l = 0; l < audio_blocks.Count; l++)
        {
            var (na, aa) = audio_blocks[l].ForwardWithAttention(a);
            var (nv, av) = video_blocks[l].ForwardWithAttention(v);
            layers.Add((aa, av));
            (a, v) = (Replace(a, na), Replace(v, nv));
        }

        var la = (int)a.shape[1];
        Tensor x;
        using (var jointAudio = PlusGathered(a, audio_inter_pos, ia))
        using (var jointVideo = PlusGathered(v, video_inter_pos, iv))
        {
            a.Dispose();
            v.Dispose();
            x = torch.cat([jointAudio, jointVideo], 1);
        }

        foreach (var block in joint_blocks)
        {
            var (next, attention) = block.ForwardWithAttention(x, JointPath.Shared);
            layers.Add((attention[.., ..la], attention[.., la..]));
            attention.Dispose();
            x = Replace(x, next);
        }

        x.Dispose();
        return layers;
    }

    /// <summary>Runs modality outputs of (possibly mismatched) pairs through the shared joint path: the AVM's input.</summary>
    public (Tensor Audio, Tensor Video) JointShared(Tensor modalityAudio, Tensor modalityVideo)
    {
        var la = modalityAudio.shape[1];
        var x = torch.cat([modalityAudio, modalityVideo], 1);
        foreach (var block in joint_blocks)
        {
            x = Replace(x, block.Forward(x, JointPath.Shared));
        }

        using var normed = norm.forward(x);
        x.Dispose();
        return (normed[.., ..(int)la], normed[.., (int)la..]);
    }

    /// <summary>
    /// MAE + contrastive forward on (possibly selected) patches. <paramref name="audioIndices"/>/<paramref name="videoIndices"/> give
    /// each patch's original token index. Of the given tokens, int(full * (1 - maskRatio)) stay visible (computed on the FULL
    /// token counts, as the reference does, so selection shrinks the reconstruction targets, not the encoder input); the rest
    /// are reconstruction targets.
    /// </summary>
    public PretrainOutput Pretrain(
        Tensor audioPatches, Tensor audioIndices, Tensor videoPatches, Tensor videoIndices, Generator generator, double maskRatio = 0.8)
    {
        using var audioNoise = torch.rand([audioPatches.shape[0], audioPatches.shape[1]], generator: generator, device: audioPatches.device);
        using var videoNoise = torch.rand([videoPatches.shape[0], videoPatches.shape[1]], generator: generator, device: videoPatches.device);
        using var audioShuffle = audioNoise.argsort(1);
        using var videoShuffle = videoNoise.argsort(1);
        return Pretrain(audioPatches, audioIndices, videoPatches, videoIndices, audioShuffle, videoShuffle, maskRatio);
    }

    /// <summary>
    /// The forward of <see cref="Pretrain(Tensor, Tensor, Tensor, Tensor, Generator, double)"/> under a given mask: each row of
    /// <paramref name="audioShuffle"/>/<paramref name="videoShuffle"/> [B, K] is a permutation of the given patches whose first
    /// visible entries stay visible (MAE's argsort of noise).
    /// </summary>
    public PretrainOutput Pretrain(
        Tensor audioPatches, Tensor audioIndices, Tensor videoPatches, Tensor videoIndices, Tensor audioShuffle, Tensor videoShuffle, double maskRatio = 0.8)
    {
        // Each intermediate is disposed once used (the graph keeps what backward needs and frees it during backward); without that
        // TorchSharp keeps every one of them until the step's dispose scope ends, past the backward pass.
        var (restoreA, maskA) = Mask(audioShuffle, Config.AudioTokens, maskRatio, out var keepA);
        var (restoreV, maskV) = Mask(videoShuffle, Config.VideoTokens, maskRatio, out var keepV);
        using var restoreAudio = restoreA;
        using var restoreVideo = restoreV;
        using var maskAudio = maskA;
        using var maskVideo = maskV;
        using var keepAudio = keepA;
        using var keepVideo = keepV;
        using var ia = audioIndices.gather(1, keepA);
        using var iv = videoIndices.gather(1, keepV);
        Tensor a, v;
        using (var visibleAudio = GatherTokens(audioPatches, keepA))
        using (var visibleVideo = GatherTokens(videoPatches, keepV))
        {
            a = Embed(audio_embed, audio_pos, audio_modality, visibleAudio, ia);
            v = Embed(video_embed, video_pos, video_modality, visibleVideo, iv);
        }

        var (ma, mv) = Modality(a, ia, v, iv);
        using var modalityAudio = ma;
        using var modalityVideo = mv;
        var (ja, jv) = JointShared(ma, mv);
        Tensor maeA, rowsA, maeV, rowsV;
        using (ja)
        using (jv)
        {
            var (predA, predV) = Decode(ja, jv, restoreA, restoreV, audioIndices, videoIndices);
            using (predA)
            using (predV)
            {
                (maeA, rowsA) = MaeLoss(predA, audioPatches, maskA);
                (maeV, rowsV) = MaeLoss(predV, videoPatches, maskV);
            }
        }

        var pa = Pool(ma, JointPath.Audio);
        var pv = Pool(mv, JointPath.Video);
        using (rowsA)
        using (rowsV)
        {
            return new PretrainOutput(maeA, maeV, Losses.InfoNce(pa, pv, 0.05), pa, pv, rowsA.Plus(rowsV));
        }
    }

    private static (Tensor Restore, Tensor Mask) Mask(Tensor shuffle, int fullTokens, double maskRatio, out Tensor keep)
    {
        var (b, l) = (shuffle.shape[0], (int)shuffle.shape[1]);
        var visible = Math.Clamp((int)(fullTokens * (1 - maskRatio)), 1, Math.Max(1, l - 1));
        var restore = shuffle.argsort(1);
        keep = shuffle.narrow(1, 0, visible);
        using var ordered = torch.ones(b, l, device: shuffle.device);
        using (var head = ordered.narrow(1, 0, visible))
        {
            head.zero_();
        }

        return (restore, ordered.gather(1, restore));
    }

    private (Tensor Audio, Tensor Video) Decode(Tensor ja, Tensor jv, Tensor restoreA, Tensor restoreV, Tensor audioIndices, Tensor videoIndices)
    {
        using var da = DecoderInput(ja, restoreA, decoder_audio_pos, audioIndices, decoder_audio_modality);
        using var dv = DecoderInput(jv, restoreV, decoder_video_pos, videoIndices, decoder_video_modality);
        var la = (int)da.shape[1];
        var x = torch.cat([da, dv], 1);
        foreach (var block in decoder_blocks)
        {
            x = Replace(x, block.forward(x));
        }

        using var normed = Replace(x, decoder_norm.forward(x));
        using var audioPart = normed[.., ..la];
        using var videoPart = normed[.., la..];
        return (decoder_pred_a.forward(audioPart), decoder_pred_v.forward(videoPart));
    }

    // The decoder's input for one modality: the embedded joint tokens with mask tokens, in the order of the given patches, plus the
    // decoder's position embeddings at their original indices and its modality embedding.
    private Tensor DecoderInput(Tensor joint, Tensor restore, Parameter positions, Tensor indices, Parameter modality)
    {
        using var embedded = decoder_embed.forward(joint);
        using var unshuffled = Unshuffle(embedded, restore);
        using var expanded = positions.expand(joint.shape[0], -1, -1);
        using var gathered = GatherTokens(expanded, indices);
        using var sum = unshuffled.Plus(gathered);
        return sum.Plus(modality);
    }

    // Visible tokens first, then mask tokens, put back into the order of the given patches.
    private Tensor Unshuffle(Tensor visible, Tensor restore)
    {
        var (b, l, dd) = (visible.shape[0], restore.shape[1], visible.shape[2]);
        using var masks = mask_token.expand(b, l - visible.shape[1], dd);
        using var full = torch.cat([visible, masks], 1);
        return GatherTokens(full, restore);
    }

    // Norm-pix MSE over the masked tokens: the batch loss, and each row's own loss. The target is data (no gradient), built under
    // no_grad with its temporaries freed at once, unless the patches themselves require a gradient (GMED's input gradient).
    private static (Tensor Loss, Tensor PerRow) MaeLoss(Tensor prediction, Tensor patches, Tensor mask)
    {
        using var target = NormalizedPatches(patches);
        using var diff = prediction.Minus(target);
        using var squared = diff.square();
        using var perTokenAll = squared.mean([-1]);
        using var perToken = perTokenAll.mul(mask);
        using var total = perToken.sum();
        using var count = mask.sum();
        using var rowTotal = perToken.sum(1);
        using var rowCount = mask.sum(1);
        return (total.div(count), rowTotal.div(rowCount));
    }

    // Each patch normalized to zero mean and unit variance (MAE's norm_pix_loss target). Without gradient in training; when the
    // patches require one (GMED differentiates the loss by its inputs), the gradient also flows through the target, as in the
    // authors' code, whose target is the input batch itself.
    private static Tensor NormalizedPatches(Tensor patches)
    {
        using IDisposable? noGrad = patches.requires_grad ? null : torch.no_grad();
        using var mean = patches.mean([-1], keepdim: true);
        using var variance = patches.var(-1, keepdim: true);
        variance.add_(PixelEpsilon, Scalars.One).sqrt_();
        var centred = patches.Minus(mean);
        return centred.div_(variance);
    }

    private static readonly Scalar PixelEpsilon = 1e-6.ToScalar();

    // Returns next after disposing previous (a chain of blocks: each input is dropped once the next output exists).
    private static Tensor Replace(Tensor previous, Tensor next)
    {
        previous.Dispose();
        return next;
    }

    // The modality blocks, then the position embeddings of the tokens' original indices that the authors add after them.
    private (Tensor Audio, Tensor Video) Modality(Tensor a, Tensor audioIndices, Tensor v, Tensor videoIndices)
    {
        foreach (var block in audio_blocks)
        {
            a = Replace(a, block.forward(a));
        }

        foreach (var block in video_blocks)
        {
            v = Replace(v, block.forward(v));
        }

        return (Replace(a, PlusGathered(a, audio_inter_pos, audioIndices)), Replace(v, PlusGathered(v, video_inter_pos, videoIndices)));
    }

    // tokens + table[indices] (a position table [1, L, D] gathered at each token's original index).
    private static Tensor PlusGathered(Tensor tokens, Parameter table, Tensor indices)
    {
        using var expanded = table.expand(tokens.shape[0], -1, -1);
        using var gathered = GatherTokens(expanded, indices);
        return tokens.Plus(gathered);
    }

    private Tensor Pool(Tensor modality, JointPath path)
    {
        var x = modality;
        foreach (var block in joint_blocks)
        {
            var next = block.Forward(x, path);
            if (!ReferenceEquals(x, modality))
            {
                x.Dispose();
            }

            x = next;
        }

        using var normed = (path == JointPath.Audio ? norm_a : norm_v).forward(x);
        if (!ReferenceEquals(x, modality))
        {
            x.Dispose();
        }

        return normed.mean([1]);
    }

    /// <summary>Audio patch embeddings [B, K, D] of patches [B, K, P*P] at original token indices [B, K] (position embeddings gathered there).</summary>
    public Tensor EmbedAudio(Tensor patches, Tensor indices) => Embed(audio_embed, audio_pos, audio_modality, patches, indices);

    private static Tensor Embed(Linear embed, Parameter pos, Parameter modality, Tensor patches, Tensor indices)
    {
        using var embedded = embed.forward(patches);
        using var positioned = PlusGathered(embedded, pos, indices);
        return positioned.Plus(modality);
    }

    /// <summary>Rows of <paramref name="tokens"/> [B, L, D] at <paramref name="indices"/> [B, K].</summary>
    public static Tensor GatherTokens(Tensor tokens, Tensor indices)
    {
        using var column = indices.unsqueeze(-1);
        using var expanded = column.expand(indices.shape[0], indices.shape[1], tokens.shape[2]);
        return tokens.gather(1, expanded);
    }
}
