using Stella.Model.Config;
using Stella.Model.Modules;
using Stella.Model.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Stella.Model;

/// <summary>
/// The model every learner trains: the backbone and the AVM with their optimizers and the generator of every random choice;
/// the backbone step on given rows (<see cref="Train"/>), the AVM's no-gradient scoring pass (<see cref="Score"/>) and its step
/// (<see cref="AvmStep"/>). The learners (Stella.Continual) compose them into their steps.
/// </summary>
public sealed class ModelTrainer : IDisposable
{
    private readonly Adam _backboneOptimizer;
    private readonly Adam _avmOptimizer;
    private static readonly Lock InitGate = new();
    private readonly Generator _generator;

    /// <summary>Builds the model of <paramref name="config"/> on <paramref name="device"/>; all weights and choices follow the seed.</summary>
    public ModelTrainer(ModelConfig config, StellaOptions? options = null, Device? device = null)
    {
        Runtime.TorchRuntime.Initialize();
        Options = options ?? new StellaOptions();
        Config = config;
        Device = device ?? CPU;
        // Weight initialisation draws from torch's process-wide generator: seed and build under one lock, so two trainers
        // built at once on different threads still get the weights of their own seeds.
        lock (InitGate)
        {
            torch.manual_seed((long)Options.Seed);
            Backbone = new Backbone(config).to(Device);
            Avm = new Avm(config.Dim, config.AvmHeads).to(Device);
        }

        _generator = new Generator(Options.Seed, Device);
        _backboneOptimizer = optim.Adam(Backbone.parameters(), Options.LearningRate, 0.95, 0.999, 1e-8, Options.WeightDecay);
        _avmOptimizer = optim.Adam(Avm.parameters(), Options.LearningRate, 0.95, 0.999, 1e-8, Options.WeightDecay);
    }

    /// <summary>The sizes.</summary>
    public ModelConfig Config { get; }

    /// <summary>The step settings.</summary>
    public StellaOptions Options { get; }

    /// <summary>The device.</summary>
    public Device Device { get; }

    /// <summary>The backbone.</summary>
    public Backbone Backbone { get; }

    /// <summary>The AVM module.</summary>
    public Avm Avm { get; }

    /// <summary>kappa_a.</summary>
    public int AudioKappa => PatchSelector.Kappa(Config.AudioTokens, Options.RhoAudio);

    /// <summary>kappa_v.</summary>
    public int VideoKappa => PatchSelector.Kappa(Config.VideoTokens, Options.RhoVideo);

    /// <summary>
    /// Scores a batch with the current AVM (no gradient): importance I_a, I_v, the weighted queries q_hat over the top-kappa tokens,
    /// and, when past queries are given, the correlation probabilities p_a, p_v.
    /// </summary>
    public BatchScores Score(Tensor audio, Tensor video, (Tensor Audio, Tensor Video)? pastQueries, out Encoding encoding)
    {
        // Own dispose scope: TorchSharp frees a tensor only when its scope ends, so without it every intermediate of this
        // full-length forward would live until the end of the training step. Only what the step needs is moved out.
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var full = Backbone.Encode(audio, video, pooled: false);
        var avm = Avm.Scores(full.JointAudio, full.JointVideo);
        var ia = Scoring.AudioImportance(avm, Options.Beta);
        var iv = Scoring.VideoImportance(avm, Options.Beta);
        // The cross-attention maps [B, H, M, N] are the largest tensors of the pass: gone once the importance is taken.
        avm.AudioToVideo.Dispose();
        avm.VideoToAudio.Dispose();
        var topA = Scoring.TopTokens(ia, AudioKappa);
        var topV = Scoring.TopTokens(iv, VideoKappa);
        var qa = Scoring.WeightedQuery(avm.QueryAudio, ia, topA);
        var qv = Scoring.WeightedQuery(avm.QueryVideo, iv, topV);
        Tensor? pa = null, pv = null;
        if (pastQueries is { } past)
        {
            // Video patches are judged by audio queries (past vs current), audio patches by video queries.
            pv = Scoring.Correlation(past.Audio, qa, avm.KeyVideo, topV).MoveToOuterDisposeScope();
            pa = Scoring.Correlation(past.Video, qv, avm.KeyAudio, topA).MoveToOuterDisposeScope();
        }

        encoding = new Encoding(
            full.JointAudio.MoveToOuterDisposeScope(), full.JointVideo.MoveToOuterDisposeScope(), full.PooledAudio, full.PooledVideo,
            full.ModalityAudio.MoveToOuterDisposeScope(), full.ModalityVideo.MoveToOuterDisposeScope());
        return new BatchScores(
            ia.MoveToOuterDisposeScope(), iv.MoveToOuterDisposeScope(), pa, pv, qa.MoveToOuterDisposeScope(), qv.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The AVM loss on this batch without a step (for tests): half matched pairs, half deranged; a batch of one clip is one matched
    /// pair.
    /// </summary>
    public Tensor AvmLoss(Encoding encoding) => AvmLoss(encoding, out _);

    /// <summary>
    /// The AVM loss, and the share of the batch's pairs the AVM tells right (logit &gt; 0 for a matched pair, &lt; 0 for a deranged
    /// one; 0.5 is chance): the diagnostic of whether the AVM, whose importance guides the selection, has learned anything.
    /// </summary>
    private Tensor AvmLoss(Encoding encoding, out float accuracy)
    {
        // The first half keeps its own video (the joint outputs of the scoring pass serve as they are); the second half
        // gets another item's video (a cyclic shift never maps an item to itself) and goes through the joint blocks again.
        var b = encoding.ModalityAudio.shape[0];
        var half = (int)(b / 2);
        long shift;
        using (var draw = torch.rand([1], generator: _generator))
        {
            shift = 1 + (long)(draw.item<float>() * (b - 1));
        }

        if (b == 1)
        {
            // One clip has no other video to be paired with: its own pair is the only one, a matched pair (label 1), as the
            // authors' learn_multimodal_relationship labels every pair of a batch of one or two clips. The draw above is still
            // made, so the generator advances alike whatever the batch size; batches of two or more are untouched.
            var single = Avm.forward(encoding.JointAudio, encoding.JointVideo).Logit;
            using var matched = torch.ones(1, device: Device);
            accuracy = Accuracy(single, matched);
            return nn.functional.binary_cross_entropy_with_logits(single, matched);
        }

        using var scope = torch.NewDisposeScope();
        using var shiftValue = shift.ToScalar();
        using var bValue = b.ToScalar();
        var partner = TensorOps.Range(half, b, Device).add_(shiftValue, Runtime.Scalars.One).remainder_(bValue);
        Tensor ja, jv;
        using (torch.no_grad())
        {
            var (na, nv) = Backbone.JointShared(encoding.ModalityAudio[half..], encoding.ModalityVideo.index_select(0, partner));
            ja = torch.cat([encoding.JointAudio[..half], na]);
            jv = torch.cat([encoding.JointVideo[..half], nv]);
        }

        var target = torch.cat([torch.ones(half, device: Device), torch.zeros(b - half, device: Device)]);
        var logit = Avm.forward(ja, jv).Logit;
        accuracy = Accuracy(logit, target);
        return nn.functional.binary_cross_entropy_with_logits(logit, target).MoveToOuterDisposeScope();
    }

    private static float Accuracy(Tensor logit, Tensor target)
    {
        using var scope = torch.NewDisposeScope();
        return logit.detach().gt(Runtime.Scalars.Zero).to(ScalarType.Float32).eq(target).to(ScalarType.Float32).mean().item<float>();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _backboneOptimizer.Dispose();
        _avmOptimizer.Dispose();
        Backbone.Dispose();
        Avm.Dispose();
        _generator.Dispose();
    }

    /// <summary>
    /// One backbone step on the given rows (patches with their original token indices). <paramref name="extraLoss"/> adds a term
    /// computed from the forward output (the DER++ penalty on replayed rows). Forward, backward and step run in a scope of their own,
    /// so the activations are freed before anything else; the pooled embeddings come back detached.
    /// </summary>
    public TrainOutcome Train(Tensor audio, Tensor audioIndices, Tensor video, Tensor videoIndices, Func<PretrainOutput, Tensor?>? extraLoss = null)
    {
        using var scope = torch.NewDisposeScope();
        var output = Backbone.Pretrain(audio, audioIndices, video, videoIndices, _generator, Options.MaskRatio);
        var loss = TotalLoss(output);
        var extra = extraLoss?.Invoke(output);
        if (extra is not null)
        {
            loss = loss.Plus(extra);
        }

        _backboneOptimizer.zero_grad();
        loss.backward();
        Runtime.AdamStep.Run(_backboneOptimizer);
        return new TrainOutcome(
            output.MaeAudio.item<float>(), output.MaeVideo.item<float>(), output.Contrastive.item<float>(), extra?.item<float>() ?? 0f,
            output.PooledAudio.detach().MoveToOuterDisposeScope(), output.PooledVideo.detach().MoveToOuterDisposeScope());
    }

    // MAE (audio + video) + weight x InfoNCE: the backbone's loss (temporaries stay in the caller's scope).
    private Tensor TotalLoss(PretrainOutput output) =>
        output.MaeAudio.Plus(output.MaeVideo).Plus(output.Contrastive.Times(Options.ContrastiveWeight));

    /// <summary>Per-row reconstruction loss [B] at the current weights, without gradient (MIR's ranking).</summary>
    public Tensor RowLosses(Tensor audio, Tensor audioIndices, Tensor video, Tensor videoIndices)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return Backbone.Pretrain(audio, audioIndices, video, videoIndices, _generator, Options.MaskRatio).PerSampleMae.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// MIR's virtual step: an SGD step of <paramref name="learningRate"/> on the given rows' loss; disposing the result puts the
    /// weights back exactly.
    /// </summary>
    public IDisposable VirtualStep(Tensor audio, Tensor audioIndices, Tensor video, Tensor videoIndices, double learningRate)
    {
        var saved = Backbone.parameters().Select(p => p.detach().clone()).ToList();
        using (var scope = torch.NewDisposeScope())
        {
            var output = Backbone.Pretrain(audio, audioIndices, video, videoIndices, _generator, Options.MaskRatio);
            var loss = TotalLoss(output);
            Backbone.zero_grad();
            loss.backward();
            using var noGrad = torch.no_grad();
            foreach (var p in Backbone.parameters())
            {
                if (p.grad is { } g)
                {
                    using var step = g.Times(learningRate);
                    p.sub_(step);
                }
            }

            Backbone.zero_grad();
        }

        return new Restore(Backbone, saved);
    }

    /// <summary>
    /// A copy of the backbone (same weights, no gradient) for the learners that keep extra models (CLS-ER's plastic and stable
    /// models, ESMER's semantic memory). Built under the initialisation lock and reseeded as the trainer was, so making one never
    /// moves torch's process-wide generator in a way another thread's build could see; its weights are overwritten at once.
    /// </summary>
    public Backbone CopyBackbone()
    {
        Backbone copy;
        lock (InitGate)
        {
            torch.manual_seed((long)Options.Seed);
            copy = new Backbone(Config).to(Device);
        }

        using var noGrad = torch.no_grad();
        foreach (var (target, source) in copy.parameters().Zip(Backbone.parameters()))
        {
            target.copy_(source);
            target.requires_grad = false;
        }

        foreach (var (target, source) in copy.buffers().Zip(Backbone.buffers()))
        {
            target.copy_(source);
        }

        copy.InterPositionLearned = Backbone.InterPositionLearned;
        return copy;
    }

    /// <summary>Bytes of the backbone's weights (float32): what one extra model costs.</summary>
    public long BackboneBytes => 4L * Backbone.parameters().Sum(p => p.numel());

    /// <summary>
    /// The gradient of the training loss (MAE + weight x InfoNCE, batch mean, fresh random masks) with respect to the given patches,
    /// at the current weights; no weight gradient is kept. GMED edits its memory items along it.
    /// </summary>
    public (Tensor Audio, Tensor Video) InputGradients(Tensor audio, Tensor audioIndices, Tensor video, Tensor videoIndices)
    {
        using var scope = torch.NewDisposeScope();
        using var a = audio.detach().requires_grad_(true);
        using var v = video.detach().requires_grad_(true);
        var output = Backbone.Pretrain(a, audioIndices, v, videoIndices, _generator, Options.MaskRatio);
        var loss = TotalLoss(output);
        var grads = torch.autograd.grad([loss], [a, v]);
        return (grads[0].detach().MoveToOuterDisposeScope(), grads[1].detach().MoveToOuterDisposeScope());
    }

    /// <summary>The generator of every random choice of training (masking, selection, negatives).</summary>
    public Generator Generator => _generator;

    /// <summary>The state of the trainer's random generator (masking, selection, negatives).</summary>
    public Tensor RandomState => _generator.get_state();

    /// <summary>Restores the generator to a state from <see cref="RandomState"/>.</summary>
    public void SetRandomState(Tensor state) => _generator.set_state(state);

    /// <summary>Writes weights, optimizer states and the generator state into <paramref name="dir"/>; returns the files written.</summary>
    public IReadOnlyList<string> SaveState(string dir)
    {
        Directory.CreateDirectory(dir);
        Backbone.save(Path.Combine(dir, "backbone.bin"));
        Avm.save(Path.Combine(dir, "avm.bin"));
        _backboneOptimizer.save_state_dict(Path.Combine(dir, "backbone-adam.bin"));
        _avmOptimizer.save_state_dict(Path.Combine(dir, "avm-adam.bin"));
        using (var state = _generator.get_state())
        {
            File.WriteAllBytes(Path.Combine(dir, "generator.bin"), state.data<byte>().ToArray());
        }

        return ["backbone.bin", "avm.bin", "backbone-adam.bin", "avm-adam.bin", "generator.bin"];
    }

    /// <summary>Loads what <see cref="SaveState"/> wrote.</summary>
    public void LoadState(string dir)
    {
        Backbone.load(Path.Combine(dir, "backbone.bin"));
        Avm.load(Path.Combine(dir, "avm.bin"));
        _backboneOptimizer.load_state_dict(Path.Combine(dir, "backbone-adam.bin"));
        _avmOptimizer.load_state_dict(Path.Combine(dir, "avm-adam.bin"));
        var bytes = File.ReadAllBytes(Path.Combine(dir, "generator.bin"));
        using var state = torch.tensor(bytes, dtype: ScalarType.Byte);
        _generator.set_state(state);
    }

    private sealed class Restore(Backbone backbone, List<Tensor> saved) : IDisposable
    {
        public void Dispose()
        {
            using var noGrad = torch.no_grad();
            foreach (var (p, s) in backbone.parameters().Zip(saved))
            {
                p.copy_(s);
                s.Dispose();
            }
        }
    }

    /// <summary>
    /// One AVM step on the encoding of the current batch (half matched, half deranged pairs); returns the loss. The share of pairs
    /// it told right before the step is in <see cref="LastAvmAccuracy"/>.
    /// </summary>
    public float AvmStep(Encoding encoding)
    {
        var loss = AvmLoss(encoding, out var accuracy);
        LastAvmAccuracy = accuracy;
        _avmOptimizer.zero_grad();
        loss.backward();
        Runtime.AdamStep.Run(_avmOptimizer);
        return loss.item<float>();
    }

    /// <summary>The share of pairs the AVM told right in the last <see cref="AvmStep"/> (before its update); NaN before any.</summary>
    public float LastAvmAccuracy { get; private set; } = float.NaN;
}
