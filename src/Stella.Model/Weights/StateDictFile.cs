using Stella.Core;
using System.Collections;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Stella.Model.Weights;

/// <summary>
/// Reads and writes flat PyTorch state dicts (name -> tensor) through TorchSharp.PyBridge: <c>torch.save</c> zip files, flat or
/// nested one level (<c>{'model': ...}</c>, <c>{'state_dict': ...}</c>), and safetensors. Anything else gets one line that
/// names the file and what it is.
/// </summary>
public static class StateDictFile
{
    private static readonly string[] NestedKeys = ["model", "state_dict", "module"];

    /// <summary>The tensors of <paramref name="path"/> by name (float32 or the file's dtype, on the CPU).</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new UserInputException($"weights file not found: {path}");
        }

        var head = new byte[16];
        int read;
        using (var probe = File.OpenRead(path))
        {
            read = probe.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }

        if (read >= 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4)
        {
            return ReadTorchZip(path);
        }

        if (read >= 9 && BitConverter.ToUInt64(head, 0) is > 1 and < 100_000_000 && head[8] == (byte)'{')
        {
            return ReadSafetensors(path);
        }

        if (read >= 2 && head[0] == 0x80 && head[1] <= 5)
        {
            throw new UserInputException(
                $"{path}: a legacy (non-zip) torch.save pickle; load it in PyTorch and save it again with torch.save (PyTorch >= 1.6 writes the zip format)");
        }

        throw new UserInputException($"{path}: neither a torch.save zip file nor a safetensors file (first bytes {Convert.ToHexString(head, 0, Math.Min(read, 8))})");
    }

    /// <summary>Writes <paramref name="tensors"/> as a flat state dict: safetensors when the name ends in .safetensors, else a torch.save zip.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        var contiguous = tensors.ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().contiguous());
        try
        {
            if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            {
                Safetensors.SaveStateDict(path, contiguous);
            }
            else
            {
                PyTorchPickler.PickleStateDict(path, new Hashtable(contiguous));
            }
        }
        finally
        {
            foreach (var (name, t) in contiguous)
            {
                if (!ReferenceEquals(t, tensors[name]))
                {
                    t.Dispose();
                }
            }
        }
    }

    private static Dictionary<string, Tensor> ReadSafetensors(string path)
    {
        try
        {
            return Safetensors.LoadStateDict(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new UserInputException($"{path}: not a readable safetensors file ({e.Message})", e);
        }
    }

    private static Dictionary<string, Tensor> ReadTorchZip(string path)
    {
        Hashtable table;
        try
        {
            table = PyTorchUnpickler.UnpickleStateDict(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The unpickler knows only dicts of tensors: a pickled nn.Module (torch.save(model)) or another class fails here.
            if (e.Message.Contains("entire model", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("class", StringComparison.OrdinalIgnoreCase))
            {
                throw new UserInputException($"{path}: holds a pickled Python object, not a state dict (save model.state_dict(), not the model)", e);
            }

            throw new UserInputException($"{path}: is a zip file but not a readable torch.save state dict ({FirstLine(e.Message)})", e);
        }

        return Flatten(path, table);
    }

    private static Dictionary<string, Tensor> Flatten(string path, Hashtable table)
    {
        if (table.Values.Cast<object?>().All(v => v is Tensor))
        {
            return table.Cast<DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (Tensor)e.Value!);
        }

        foreach (var key in NestedKeys)
        {
            if (table[key] is IDictionary nested && nested.Values.Cast<object?>().Any(v => v is Tensor))
            {
                var result = new Dictionary<string, Tensor>();
                foreach (DictionaryEntry e in nested)
                {
                    if (e.Value is Tensor t)
                    {
                        result[(string)e.Key] = t;
                    }
                }

                return result;
            }
        }

        var keys = string.Join(", ", table.Keys.Cast<object>().Select(k => k.ToString()).Take(8));
        throw new UserInputException($"{path}: a dict without a state dict in it (top-level keys: {keys}); expected name -> tensor, or one under 'model' or 'state_dict'");
    }

    private static string FirstLine(string message)
    {
        var line = message.Split('\n')[0].Trim();
        return line.Length > 160 ? line[..160] + "..." : line;
    }

    /// <summary>Shape as [a,b,c] for messages.</summary>
    public static string Shape(Tensor t) => Shape(t.shape);

    /// <summary>Shape as [a,b,c] for messages.</summary>
    public static string Shape(long[] shape) => "[" + string.Join(",", shape) + "]";

}
