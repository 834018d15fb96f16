using Stella.Model.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Stella.Model.Tests;

public sealed class TorchRuntimeTests
{
    [Fact]
    public void Initialize_ThenLinearAdamStep_LowersLossAndChangesWeights()
    {
        TorchRuntime.Initialize();
        torch.manual_seed(7);
        using var scope = torch.NewDisposeScope();
        var model = nn.Linear(8, 1);
        var optimizer = optim.Adam(model.parameters(), lr: 0.05);
        var x = torch.randn(64, 8);
        var y = x.matmul(torch.arange(8, dtype: ScalarType.Float32).reshape(8, 1)) + 0.5f;
        var before = model.weight!.detach().clone();

        float first = 0, last = 0;
        for (var step = 0; step < 50; step++)
        {
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.forward(x), y);
            loss.backward();
            Assert.NotNull(model.weight!.grad);
            optimizer.step();
            if (step == 0)
            {
                first = loss.item<float>();
            }

            last = loss.item<float>();
        }

        Assert.True(last < first * 0.5f, $"loss {first} -> {last}");
        Assert.True((before - model.weight!.detach()).abs().sum().item<float>() > 0f);
    }

    [Fact]
    public void Initialize_CalledTwice_IsIdempotent()
    {
        var first = TorchRuntime.Initialize();
        var second = TorchRuntime.Initialize();
        Assert.Equal(first, second);
        var lib = TorchRuntime.LocateLibTorchSharp();
        Assert.NotNull(lib);
        var needs = ElfVersionNeeds.ReadRequirements(File.ReadAllBytes(lib!));
        var marker = needs.Where(r => r.Version == TorchRuntime.RequiredGlibcxx).ToList();
        if (TorchRuntime.HostLibStdCxxHas(TorchRuntime.RequiredGlibcxx))
        {
            // Nothing to do here, and nothing may have been touched.
            Assert.Equal(TorchRuntime.NativeFixResult.NotNeeded, first);
        }
        else
        {
            Assert.NotEmpty(marker);
            Assert.All(marker, r => Assert.True(r.IsWeak));
        }
    }

    [Fact]
    public void ResolveDevice_Cpu_IsDefault_AndUnknownIsRefused()
    {
        Assert.Equal(DeviceType.CPU, TorchRuntime.ResolveDevice(null).type);
        Assert.Equal(DeviceType.CPU, TorchRuntime.ResolveDevice("cpu").type);
        var e = Assert.Throws<Stella.Core.UserInputException>(() => TorchRuntime.ResolveDevice("tpu"));
        Assert.Contains("unknown device 'tpu'", e.Message);
    }

    [Fact]
    public void ResolveDevice_CudaWithoutGpu_SaysWhatToDo()
    {
        if (TorchRuntime.CudaAvailable())
        {
            Assert.Equal(DeviceType.CUDA, TorchRuntime.ResolveDevice("cuda").type);
            return;
        }

        var e = Assert.Throws<Stella.Core.UserInputException>(() => TorchRuntime.ResolveDevice("cuda"));
        Assert.Contains("--device cpu", e.Message);
        Assert.Equal(DeviceType.CPU, TorchRuntime.ResolveDevice("auto").type);
    }
}
