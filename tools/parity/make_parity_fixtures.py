#!/usr/bin/python3
"""PyTorch reference of this project's backbone and AVM, for the parity tests (a developer tool, not a dependency of the tests:
the files it writes are committed).

    apt-get install python3-torch
    /usr/bin/python3 tools/parity/make_parity_fixtures.py tests/Stella.Model.Tests/Fixtures/parity

Written from the thesis (Ch. 2: CAV-MAE style backbone, AVM Eqs. 2.1/2.10/2.11, LPIS Eq. 2.2) and ../shared/reference/
stella-official-code.md, with the authors' key names and tensor layouts (conv-kernel patch embeddings, blocks_a/_v/_u,
inter_pos_embed_*, mask_token_a/_v, mae_score_*.decoder, avmatching_module.*) and this project's semantics where they differ
from the authors' code: one mask token for both modalities, audio and video decoded in one sequence, AVM heads merged with a
permute. Weights come from an integer hash of (name, element index) that the C# tests reproduce exactly, so the base-width
weights (31 M values) need not be committed; the tiny preset's weights are also written with torch.save, so one test reads a
file PyTorch wrote. Reference outputs are computed in float64 from the float32 weights and inputs.

For each config NAME it writes:
  NAME.io.pth       inputs (spectrogram [B,T,F] row-major time x mel, frames [B,4,3,H,W], audio/video shuffles [B,L] int64)
                    and outputs (joint_audio, joint_video, pooled_audio, pooled_video, avm_audio_to_video, avm_video_to_audio,
                    avm_logit, importance_audio, importance_video, mae_audio, mae_video, contrastive, masked_pooled_audio/video)
  NAME.weights.json the authors' key names, shapes and hash ranges of every weight
  tiny.weights.pth  (tiny only) the weights, as torch.save wrote them
legacy.pth, whole_module.pth, other_layout.pth: files an import refuses; and mae_layout.json: every key and shape of facebookresearch/mae's mae_pretrain_vit_base_full.pth (ViT-B/16 MAE with
decoder, under ['model']), for the mapping tests to generate a file of that layout.

    /usr/bin/python3 tools/parity/make_parity_fixtures.py --mae-file /tmp/mae_layout_full.pth

writes such a file itself (hashed values, 450 MB; not committed): what `stella weights import --from mae` reads.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {
    "tiny": dict(dim=128, heads=4, modality_depth=2, joint_depth=1, decoder_dim=64, decoder_depth=1, decoder_heads=4,
                 avm_heads=4, audio_frames=512, mel_bins=128, frames=4, frame_size=128, patch=16, batch=2),
    "base-width": dict(dim=768, heads=12, modality_depth=1, joint_depth=1, decoder_dim=512, decoder_depth=1, decoder_heads=16,
                       avm_heads=12, audio_frames=64, mel_bins=128, frames=4, frame_size=32, patch=16, batch=2),
}
MASK_RATIO = 0.8
BETA = 0.4
TAU = 0.05
EPS = 1e-6
M32 = 0xFFFFFFFF


def fnv1a(name):
    h = 0x811C9DC5
    for b in name.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & M32
    return h


def hashed(name, shape, scale_log2, offset):
    """Uniform values offset + u * 2**scale_log2, u in [-1, 1) on a 2**-23 grid, from a 32-bit mix of (name, index).
    Mirrored by HashedWeights in tests/Stella.Model.Tests/ParityTests.cs: same integer steps, same float32 operations."""
    n = int(np.prod(shape)) if len(shape) else 1
    i = np.arange(n, dtype=np.uint64)
    x = (i * np.uint64(0x9E3779B1) + np.uint64(fnv1a(name))) & np.uint64(M32)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & np.uint64(M32)
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & np.uint64(M32)
    x ^= x >> np.uint64(16)
    u = ((x >> np.uint64(8)).astype(np.int64) - (1 << 23)).astype(np.float32)  # exact: |u| < 2**23
    v = u * np.float32(2.0 ** (scale_log2 - 23))                                 # exact: power-of-two scale
    v = v + np.float32(offset)                                                  # one IEEE float32 add
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def ranges(name):
    """(scale_log2, offset) of a weight by its kind."""
    last = name.split(".")[-1]
    norm = any(part.startswith("norm") or part == "decoder_norm" for part in name.split(".")[:-1])
    if norm:
        return (-3, 1.0) if last == "weight" else (-5, 0.0)
    if last == "bias":
        return (-6, 0.0)
    if "pos_embed" in name:
        return (-1, 0.0)
    if last == "weight":
        return (-4, 0.0)
    return (-4, 0.0)  # modality embeddings, mask tokens


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, l, d = x.shape
        q, k, v = self.qkv(x).reshape(b, l, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = (q @ k.transpose(-2, -1) / math.sqrt(d // self.heads)).softmax(-1)
        return self.proj((a @ v).transpose(1, 2).reshape(b, l, d))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """Pre-LN block; a joint block also has a LayerNorm pair per modality for the unimodal (contrastive) path."""

    def __init__(self, dim, heads, joint=False):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=EPS)
        if joint:
            self.norm1_a = nn.LayerNorm(dim, eps=EPS)
            self.norm1_v = nn.LayerNorm(dim, eps=EPS)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=EPS)
        if joint:
            self.norm2_a = nn.LayerNorm(dim, eps=EPS)
            self.norm2_v = nn.LayerNorm(dim, eps=EPS)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, x, path=""):
        x = x + self.attn(getattr(self, "norm1" + path)(x))
        return x + self.mlp(getattr(self, "norm2" + path)(x))


class PatchEmbed(nn.Module):
    def __init__(self, channels, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(channels, dim, patch, patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Head(nn.Module):
    def __init__(self, dim, out):
        super().__init__()
        self.decoder = nn.Linear(dim, out)


class Pooler(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dense = nn.Linear(dim, dim)


class MatchingHead(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.pooler = Pooler(dim)
        self.fc = nn.Linear(dim, 1)


class Avm(nn.Module):
    """AVM (Eqs. 2.1, 2.10, 2.11): LN per modality, bias-free q/k/v, H-head cross-attention, pooled concat -> tanh MLP -> logit."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.norm_a = nn.LayerNorm(dim, eps=EPS)
        self.norm_v = nn.LayerNorm(dim, eps=EPS)
        for name in ["to_a_q", "to_a_k", "to_a_v", "to_v_q", "to_v_k", "to_v_v"]:
            setattr(self, name, nn.Linear(dim, dim, bias=False))
        self.matching_score = MatchingHead(2 * dim)

    def split(self, x):
        b, l, d = x.shape
        return x.reshape(b, l, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, audio, video):
        a, v = self.norm_a(audio), self.norm_v(video)
        qa, ka, va = self.split(self.to_a_q(a)), self.split(self.to_a_k(a)), self.split(self.to_a_v(a))
        qv, kv, vv = self.split(self.to_v_q(v)), self.split(self.to_v_k(v)), self.split(self.to_v_v(v))
        scale = 1 / math.sqrt(qa.shape[-1])
        av = qa @ kv.transpose(-2, -1) * scale
        va_ = qv @ ka.transpose(-2, -1) * scale
        merge = lambda x: x.transpose(1, 2).reshape(x.shape[0], x.shape[2], -1)
        xa = merge(av.softmax(-1) @ vv)
        xv = merge(va_.softmax(-1) @ va)
        pooled = torch.cat([xv.mean(1), xa.mean(1)], -1)
        head = self.matching_score
        logit = head.fc(torch.tanh(head.pooler.dense(pooled))).squeeze(-1)
        return av, va_, logit


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        d, dd, p = c["dim"], c["decoder_dim"], c["patch"]
        self.m = (c["audio_frames"] // p) * (c["mel_bins"] // p)
        self.n = c["frames"] * (c["frame_size"] // p) ** 2
        self.patch_embed_a = PatchEmbed(1, d, p)
        self.patch_embed_v = PatchEmbed(3, d, p)
        self.pos_embed_a = nn.Parameter(torch.zeros(1, self.m, d))
        self.pos_embed_v = nn.Parameter(torch.zeros(1, self.n, d))
        self.inter_pos_embed_a = nn.Parameter(torch.zeros(1, self.m, d))
        self.inter_pos_embed_v = nn.Parameter(torch.zeros(1, self.n, d))
        self.modality_a = nn.Parameter(torch.zeros(1, 1, d))
        self.modality_v = nn.Parameter(torch.zeros(1, 1, d))
        self.blocks_a = nn.ModuleList([Block(d, c["heads"]) for _ in range(c["modality_depth"])])
        self.blocks_v = nn.ModuleList([Block(d, c["heads"]) for _ in range(c["modality_depth"])])
        self.blocks_u = nn.ModuleList([Block(d, c["heads"], joint=True) for _ in range(c["joint_depth"])])
        self.norm = nn.LayerNorm(d, eps=EPS)
        self.norm_a = nn.LayerNorm(d, eps=EPS)
        self.norm_v = nn.LayerNorm(d, eps=EPS)
        self.decoder_embed = nn.Linear(d, dd)
        self.mask_token_a = nn.Parameter(torch.zeros(1, 1, dd))
        self.mask_token_v = nn.Parameter(torch.zeros(1, 1, dd))  # our model has one: the weights make both equal
        self.decoder_pos_embed_a = nn.Parameter(torch.zeros(1, self.m, dd))
        self.decoder_pos_embed_v = nn.Parameter(torch.zeros(1, self.n, dd))
        self.decoder_modality_a = nn.Parameter(torch.zeros(1, 1, dd))
        self.decoder_modality_v = nn.Parameter(torch.zeros(1, 1, dd))
        self.decoder_blocks = nn.ModuleList([Block(dd, c["decoder_heads"]) for _ in range(c["decoder_depth"])])
        self.decoder_norm = nn.LayerNorm(dd, eps=EPS)
        self.mae_score_audio = Head(dd, p * p)
        self.mae_score_video = Head(dd, 3 * p * p)
        self.avmatching_module = Avm(d, c["avm_heads"])

    # Tokens: audio time-major (t * F + f) over a [T, F] spectrogram; video t * h * w + row * w + col.
    def embed_audio(self, spec):
        return self.patch_embed_a(spec.unsqueeze(1))

    def embed_video(self, frames):
        b, t = frames.shape[:2]
        x = self.patch_embed_v(frames.flatten(0, 1))
        return x.reshape(b, t * x.shape[1], x.shape[2])

    def audio_patches(self, spec):
        b, p = spec.shape[0], self.c["patch"]
        tt, ff = spec.shape[1] // p, spec.shape[2] // p
        return spec.reshape(b, tt, p, ff, p).permute(0, 1, 3, 2, 4).reshape(b, tt * ff, p * p)

    def video_patches(self, frames):
        b, t, ch, h, w = frames.shape
        p = self.c["patch"]
        x = frames.reshape(b, t, ch, h // p, p, w // p, p).permute(0, 1, 3, 5, 2, 4, 6)
        return x.reshape(b, t * (h // p) * (w // p), ch * p * p)

    def modality(self, a, ia, v, iv):
        for blk in self.blocks_a:
            a = blk(a)
        for blk in self.blocks_v:
            v = blk(v)
        return a + gather(self.inter_pos_embed_a.expand(a.shape[0], -1, -1), ia), v + gather(self.inter_pos_embed_v.expand(v.shape[0], -1, -1), iv)

    def joint(self, a, v):
        x = torch.cat([a, v], 1)
        for blk in self.blocks_u:
            x = blk(x)
        x = self.norm(x)
        return x[:, : a.shape[1]], x[:, a.shape[1]:]

    def pool(self, x, path):
        for blk in self.blocks_u:
            x = blk(x, path)
        return getattr(self, "norm" + path)(x).mean(1)

    def encode(self, spec, frames):
        b = spec.shape[0]
        ia = torch.arange(self.m).expand(b, -1)
        iv = torch.arange(self.n).expand(b, -1)
        a = self.embed_audio(spec) + self.pos_embed_a + self.modality_a
        v = self.embed_video(frames) + self.pos_embed_v + self.modality_v
        ma, mv = self.modality(a, ia, v, iv)
        ja, jv = self.joint(ma, mv)
        return ja, jv, self.pool(ma, "_a"), self.pool(mv, "_v")

    def pretrain(self, spec, frames, shuffle_a, shuffle_v):
        """MAE + contrastive forward under a given mask: the first int(L * (1 - ratio)) of each shuffle stay visible."""
        pa, pv = self.audio_patches(spec), self.video_patches(frames)
        ea = self.embed_audio(spec) + self.pos_embed_a + self.modality_a
        ev = self.embed_video(frames) + self.pos_embed_v + self.modality_v
        ka, ra, mask_a = mask(shuffle_a, self.m)
        kv, rv, mask_v = mask(shuffle_v, self.n)
        ma, mv = self.modality(gather(ea, ka), ka, gather(ev, kv), kv)
        ja, jv = self.joint(ma, mv)
        da = self.unshuffle(self.decoder_embed(ja), ra) + self.decoder_pos_embed_a + self.decoder_modality_a
        dv = self.unshuffle(self.decoder_embed(jv), rv) + self.decoder_pos_embed_v + self.decoder_modality_v
        x = torch.cat([da, dv], 1)
        for blk in self.decoder_blocks:
            x = blk(x)
        x = self.decoder_norm(x)
        pred_a = self.mae_score_audio.decoder(x[:, : da.shape[1]])
        pred_v = self.mae_score_video.decoder(x[:, da.shape[1]:])
        pool_a, pool_v = self.pool(ma, "_a"), self.pool(mv, "_v")
        return mae_loss(pred_a, pa, mask_a), mae_loss(pred_v, pv, mask_v), info_nce(pool_a, pool_v), pool_a, pool_v

    def unshuffle(self, visible, restore):
        b, l = restore.shape
        full = torch.cat([visible, self.mask_token_a.expand(b, l - visible.shape[1], -1)], 1)
        return gather(full, restore)


def gather(x, idx):
    return x.gather(1, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def mask(shuffle, full):
    b, l = shuffle.shape
    visible = min(max(int(full * (1 - MASK_RATIO)), 1), max(1, l - 1))
    restore = shuffle.argsort(1)
    m = torch.ones(b, l, dtype=torch.float64)
    m[:, :visible] = 0
    return shuffle[:, :visible], restore, m.gather(1, restore)


def mae_loss(pred, patches, m):
    target = (patches - patches.mean(-1, keepdim=True)) / (patches.var(-1, keepdim=True) + EPS).sqrt()
    per_token = (pred - target).pow(2).mean(-1) * m
    return per_token.sum() / m.sum()


def info_nce(a, v):
    logits = F.normalize(a, dim=-1) @ F.normalize(v, dim=-1).t() / TAU
    target = torch.arange(a.shape[0])
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2


def importance(scores):
    """LPIS (Eq. 2.2): softmax(scores / beta) over keys, mean over heads, then over queries."""
    return (scores / BETA).softmax(-1).mean(1).mean(1)


MAE_ENCODER_BLOCKS, MAE_DECODER_BLOCKS = 12, 8


def mae_layout():
    """Keys and shapes of mae_pretrain_vit_base_full.pth ['model'] (facebookresearch/mae models_mae.py, ViT-B/16, decoder 512x8)."""
    d, dd, p = 768, 512, 16
    keys = [("cls_token", [1, 1, d]), ("pos_embed", [1, 197, d]), ("patch_embed.proj.weight", [d, 3, p, p]), ("patch_embed.proj.bias", [d])]

    def block(prefix, w):
        return [(f"{prefix}.norm1.weight", [w]), (f"{prefix}.norm1.bias", [w]), (f"{prefix}.attn.qkv.weight", [3 * w, w]),
                (f"{prefix}.attn.qkv.bias", [3 * w]), (f"{prefix}.attn.proj.weight", [w, w]), (f"{prefix}.attn.proj.bias", [w]),
                (f"{prefix}.norm2.weight", [w]), (f"{prefix}.norm2.bias", [w]), (f"{prefix}.mlp.fc1.weight", [4 * w, w]),
                (f"{prefix}.mlp.fc1.bias", [4 * w]), (f"{prefix}.mlp.fc2.weight", [w, 4 * w]), (f"{prefix}.mlp.fc2.bias", [w])]

    for i in range(MAE_ENCODER_BLOCKS):
        keys += block(f"blocks.{i}", d)
    keys += [("norm.weight", [d]), ("norm.bias", [d]), ("mask_token", [1, 1, dd]), ("decoder_pos_embed", [1, 197, dd]),
             ("decoder_embed.weight", [dd, d]), ("decoder_embed.bias", [dd])]
    for i in range(MAE_DECODER_BLOCKS):
        keys += block(f"decoder_blocks.{i}", dd)
    keys += [("decoder_norm.weight", [dd]), ("decoder_norm.bias", [dd]), ("decoder_pred.weight", [p * p * 3, dd]), ("decoder_pred.bias", [p * p * 3])]
    return [{"name": k, "shape": s} for k, s in keys]


def main(out):
    os.makedirs(out, exist_ok=True)
    for name, c in CONFIGS.items():
        model = Model(c)
        weights, manifest = {}, []
        for key, param in model.state_dict().items():
            if key == "mask_token_v":
                continue
            scale, offset = ranges(key)
            weights[key] = hashed(key, list(param.shape), scale, offset)
            manifest.append({"name": key, "shape": list(param.shape), "scale_log2": scale, "offset": offset})
        weights["mask_token_v"] = weights["mask_token_a"].clone()
        model.load_state_dict(weights)
        if name == "tiny":
            torch.save(weights, os.path.join(out, "tiny.weights.pth"))
        with open(os.path.join(out, f"{name}.weights.json"), "w") as f:
            json.dump(manifest, f, indent=0)

        g = torch.Generator().manual_seed(7)
        b = c["batch"]
        spec = torch.randn(b, c["audio_frames"], c["mel_bins"], generator=g)
        frames = torch.randn(b, c["frames"], 3, c["frame_size"], c["frame_size"], generator=g)
        shuffle_a = torch.rand(b, model.m, generator=g).argsort(1)
        shuffle_v = torch.rand(b, model.n, generator=g).argsort(1)

        model = model.double().eval()
        with torch.no_grad():
            ja, jv, pa, pv = model.encode(spec.double(), frames.double())
            av, va, logit = model.avmatching_module(ja, jv)
            mae_a, mae_v, nce, mpa, mpv = model.pretrain(spec.double(), frames.double(), shuffle_a, shuffle_v)
        io = {
            "spectrogram": spec, "frames": frames, "audio_shuffle": shuffle_a, "video_shuffle": shuffle_v,
            "joint_audio": ja, "joint_video": jv, "pooled_audio": pa, "pooled_video": pv,
            "avm_audio_to_video": av, "avm_video_to_audio": va, "avm_logit": logit,
            "importance_audio": importance(va), "importance_video": importance(av),
            "mae_audio": mae_a.reshape(1), "mae_video": mae_v.reshape(1), "contrastive": nce.reshape(1),
            "masked_pooled_audio": mpa, "masked_pooled_video": mpv,
        }
        io = {k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in io.items()}
        torch.save(io, os.path.join(out, f"{name}.io.pth"))
        print(f"{name}: {sum(w.numel() for w in weights.values())} weights, mae {mae_a.item():.6f}/{mae_v.item():.6f}, nce {nce.item():.6f}")

    with open(os.path.join(out, "mae_layout.json"), "w") as f:
        json.dump(mae_layout(), f, indent=0)

    # Files an import must refuse with one line: the legacy (pre-1.6, non-zip) format, a pickled whole module, another model's
    # state dict.
    torch.save({"w": torch.zeros(2)}, os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(nn.Linear(2, 2), os.path.join(out, "whole_module.pth"))
    torch.save({"fc.weight": torch.zeros(3, 2), "fc.bias": torch.zeros(3)}, os.path.join(out, "other_layout.pth"))


def write_mae_file(path):
    """A file of the real checkpoint's layout ({'model': {...}}, exact keys and shapes, hashed values: 450 MB; not committed)."""
    model = {}
    for entry in mae_layout():
        scale, offset = ranges(entry["name"])
        model[entry["name"]] = hashed(entry["name"], entry["shape"], scale, offset)
    torch.save({"model": model}, path)
    print(f"{path}: {len(model)} tensors, {sum(t.numel() for t in model.values())} values")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--mae-file":
        write_mae_file(sys.argv[2])
    else:
        main(sys.argv[1] if len(sys.argv) > 1 else "tests/Stella.Model.Tests/Fixtures/parity")
