using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Stella.Model.Runtime;

/// <summary>
/// TorchSharp's <c>Adam.step()</c> with every <see cref="Scalar"/> held until its native call has returned. The library's step makes
/// about nine Scalars a parameter from doubles (<c>mul_(beta1)</c>, <c>add_(grad, alpha: 1 - beta1)</c>, <c>add_(eps)</c>, ...) and
/// drops each as soon as its handle is read, so the finalizer thread can free one while the native call still uses it (the
/// use-after-free behind issue 16's crashes). This runs the same native calls on the same values in the same order (TorchSharp
/// 0.107.0's Adam.step: weight decay added to the gradient, both moments, bias corrections, amsgrad, maximize) on the optimizer's own
/// state objects, so the weights are bitwise those of <c>Adam.step()</c> and save_state_dict/load_state_dict are unchanged. Unlike the library's step it
/// frees each parameter's temporaries before the next parameter's update.
/// </summary>
public static class AdamStep
{
    /// <summary>One step of <paramref name="optimizer"/> on its parameters' current gradients.</summary>
    public static void Run(Adam optimizer)
    {
        using var noGrad = torch.no_grad();
        // Live references to the per-parameter states, in group-major parameter order (TorchSharp's state_dict()).
        var states = optimizer.state_dict().State;
        var i = 0;
        foreach (var group in optimizer.ParamGroups.Cast<ParamGroup>())
        {
            var options = (Adam.Options)group.Options;
            var (beta1, beta2, weightDecay, eps, lr) = (options.beta1!.Value, options.beta2!.Value, options.weight_decay!.Value, options.eps!.Value, options.LearningRate!.Value);
            using var sBeta1 = beta1.ToScalar();
            using var sOneMinusBeta1 = (1 - beta1).ToScalar();
            using var sBeta2 = beta2.ToScalar();
            using var sOneMinusBeta2 = (1 - beta2).ToScalar();
            using var sWeightDecay = weightDecay.ToScalar();
            using var sEps = eps.ToScalar();
            foreach (var p in group.Parameters)
            {
                // A scope a parameter: the temporaries (the decayed gradient, sqrt, the denominator) die with their parameter's update.
                // TorchSharp's step keeps them all until the whole step ends: about three model-sized copies at its peak.
                using var parameterScope = torch.NewDisposeScope();
                var state = (Adam.State)states[i++];
                var grad = p.grad;
                if (grad is null)
                {
                    continue;
                }

                if (state.exp_avg.shape.Length != p.shape.Length || !state.exp_avg.shape.SequenceEqual(p.shape))
                {
                    throw new InvalidOperationException($"Adam state {i - 1} has shape [{string.Join(", ", state.exp_avg.shape)}], its parameter [{string.Join(", ", p.shape)}]: the state order no longer matches the parameters");
                }

                if (options.maximize!.Value)
                {
                    grad = grad.neg();
                }

                state.step += 1;
                var biasCorrection1 = 1 - Math.Pow(beta1, state.step);
                var biasCorrection2 = 1 - Math.Pow(beta2, state.step);
                if (weightDecay != 0)
                {
                    grad = grad.add(p, sWeightDecay);
                }

                state.exp_avg.mul_(sBeta1).add_(grad, sOneMinusBeta1);
                state.exp_avg_sq.mul_(sBeta2).addcmul_(grad, grad.conj(), sOneMinusBeta2);
                using var sSqrtBiasCorrection2 = Math.Sqrt(biasCorrection2).ToScalar();
                Tensor denominator;
                if (options.amsgrad!.Value)
                {
                    var previous = state.max_exp_avg_sq;
                    state.max_exp_avg_sq = torch.maximum(previous, state.exp_avg_sq).DetachFromDisposeScope();
                    previous.Dispose();
                    denominator = state.max_exp_avg_sq.sqrt().div(sSqrtBiasCorrection2).add_(sEps, Scalars.One);
                }
                else
                {
                    denominator = state.exp_avg_sq.sqrt().div(sSqrtBiasCorrection2).add_(sEps, Scalars.One);
                }

                using var sNegativeStep = (-(lr / biasCorrection1)).ToScalar();
                p.addcdiv_(state.exp_avg, denominator, sNegativeStep);
            }
        }
    }
}
