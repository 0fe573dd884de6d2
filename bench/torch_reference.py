#!/usr/bin/env python3
"""PyTorch reference of Eyrie's bench cell, for `eyrie bench --against-torch`.

Plain PyTorch, no other dependency. The same network as Eyrie's proxy cell (clip ViT + ConvNeXt,
channel concat with an MLP projector, a Llama-style LM with RoPE, RMSNorm and SwiGLU), the same
shapes, the same loss (masked cross-entropy over the answer tokens), the same optimiser (AdamW,
weight decay 0.01, per-parameter gradient-norm clipping at 1.0, the experts in their own group at
lr x vision-lr-scale). Eager mode, on the CPU with the given threads or on a CUDA GPU, in float32 or
with the whole model and batch cast to bfloat16/float16 (as Eyrie's `--precision` runs: no autocast,
no float32 master weights).

Reads {"shapes": ..., "steps": N, "warmup": W, "threads": T, "device": "cpu"|"cuda", "dtype": "float32"|"bfloat16"|"float16"}
on stdin (Eyrie's BenchShapes) and prints one JSON line: {"step_ms", "step_fastest_ms", "params_total",
"flops_per_step", "parts": [{"part", "ms"}], "runtime"}; flops_per_step is FlopCounterMode's count of one
forward + loss + backward.
The batch is random tensors of the right shapes, made before timing: unlike Eyrie's step, the
reference's step does not build its batch from the world's scenes.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class SelfAttention(nn.Module):
    def __init__(self, dim, heads, causal=False):
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.heads, self.causal = heads, causal

    def forward(self, x, rope=None):
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if rope is not None:
            q, k = rope(q), rope(k)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return self.out(o.transpose(1, 2).reshape(b, n, d))


class VitBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), SelfAttention(dim, heads)
        self.norm2, self.fc1, self.fc2 = nn.LayerNorm(dim), nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class Clip(nn.Module):
    """ViT with learned position embeddings on a patch grid (patch 8), at its native resolution."""

    def __init__(self, dim, depth, heads, side, patch=8):
        super().__init__()
        g = side // patch
        self.patch = patch
        self.patch_embed = nn.Linear(3 * patch * patch, dim)
        self.pos = nn.Parameter(torch.randn(1, dim, g, g) * 0.02)
        self.blocks = nn.ModuleList(VitBlock(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        b, c, hh, ww = x.shape
        p = self.patch
        h, w = hh // p, ww // p
        t = x.reshape(b, c, h, p, w, p).permute(0, 2, 4, 1, 3, 5).reshape(b, h * w, c * p * p)
        t = self.patch_embed(t) + self.pos.reshape(1, -1, h * w).transpose(1, 2)
        for blk in self.blocks:
            t = blk(t)
        return self.norm(t).transpose(1, 2).reshape(b, -1, h, w)


def channel_norm(norm, x):
    return norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNextBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm, self.fc1, self.fc2 = nn.LayerNorm(c), nn.Linear(c, 4 * c), nn.Linear(4 * c, c)

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        return x + self.fc2(F.gelu(self.fc1(self.norm(y)))).permute(0, 3, 1, 2)


class ConvNext(nn.Module):
    """Stem (8x8, stride 8), two stages (the second after a 2x2 stride-2 downsample)."""

    def __init__(self, dim, depth):
        super().__init__()
        w = [max(dim // 2, 4), dim]
        self.stem, self.stem_norm = nn.Conv2d(3, w[0], 8, stride=8), nn.LayerNorm(w[0])
        self.blocks0 = nn.ModuleList(ConvNextBlock(w[0]) for _ in range(depth))
        self.down_norm, self.down = nn.LayerNorm(w[0]), nn.Conv2d(w[0], w[1], 2, stride=2)
        self.blocks1 = nn.ModuleList(ConvNextBlock(w[1]) for _ in range(depth))

    def forward(self, x):
        x = channel_norm(self.stem_norm, self.stem(x))
        for blk in self.blocks0:
            x = blk(x)
        x = self.down(channel_norm(self.down_norm, x))
        for blk in self.blocks1:
            x = blk(x)
        return x


class ChannelConcat(nn.Module):
    """Every map on the grid (average-pooled by an integer factor when larger), stacked along
    channels, through a two-layer GELU projector."""

    def __init__(self, channels, grid, lm_dim):
        super().__init__()
        self.grid = grid
        self.fc1, self.fc2 = nn.Linear(sum(channels), lm_dim), nn.Linear(lm_dim, lm_dim)

    def forward(self, maps):
        tokens = []
        for m in maps:
            if m.shape[-1] != self.grid:
                assert m.shape[-1] % self.grid == 0, "the reference resamples by integer factors only"
                m = F.avg_pool2d(m, m.shape[-1] // self.grid)
            tokens.append(m.flatten(2).transpose(1, 2))
        return self.fc2(F.gelu(self.fc1(torch.cat(tokens, 2))))


class Rope:
    """Rotate-half RoPE with Eyrie's frequencies: 1 / 10000^((i mod d/2) * 2 / d)."""

    def __init__(self, n, dim, device, dtype=torch.float32):
        half = dim // 2
        f = torch.tensor([1.0 / 10000 ** ((i % half) * 2 / dim) for i in range(dim)], device=device)
        ang = torch.arange(n, dtype=torch.float32, device=device)[:, None] * f[None, :]
        self.cos, self.sin = ang.cos()[None, None].to(dtype), ang.sin()[None, None].to(dtype)

    def __call__(self, x):
        d = x.shape[-1]
        rotated = torch.cat([-x[..., d // 2:], x[..., : d // 2]], -1)
        return x * self.cos + rotated * self.sin


class RmsNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.gamma, self.eps = nn.Parameter(torch.ones(dim)), eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.gamma


class LmBlock(nn.Module):
    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.norm1, self.attn, self.norm2 = RmsNorm(dim), SelfAttention(dim, heads, causal=True), RmsNorm(dim)
        self.gate = nn.Linear(dim, hidden, bias=False)
        self.up = nn.Linear(dim, hidden, bias=False)
        self.down = nn.Linear(hidden, dim, bias=False)

    def forward(self, x, rope):
        x = x + self.attn(self.norm1(x), rope)
        h = self.norm2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Lm(nn.Module):
    def __init__(self, vocab, dim, depth, heads):
        super().__init__()
        hidden = math.ceil(dim * 8 // 3 / 8) * 8
        self.heads = heads
        self.embed = nn.Embedding(vocab, dim)
        self.blocks = nn.ModuleList(LmBlock(dim, heads, hidden) for _ in range(depth))
        self.norm, self.head = RmsNorm(dim), nn.Linear(dim, vocab, bias=False)

    def forward_embeds(self, x):
        rope = Rope(x.shape[1], x.shape[2] // self.heads, x.device, x.dtype)
        for blk in self.blocks:
            x = blk(x, rope)
        return self.head(self.norm(x))


class Mllm(nn.Module):
    def __init__(self, s):
        super().__init__()
        experts = []
        for kind, dim, depth, heads, side, _grid in s["experts"]:
            if kind == "clip":
                experts.append(Clip(dim, depth, heads, side))
            elif kind == "convnext":
                experts.append(ConvNext(dim, depth))
            else:
                raise SystemExit(f"the reference has no {kind} expert")
        self.experts = nn.ModuleList(experts)
        channels = [e[1] for e in s["experts"]]
        assert s["fusion"] == "channel-concat", "the reference implements channel concat only"
        self.fusion = ChannelConcat(channels, s["grid"], s["lm"][0])
        vocab_dim_depth_heads = s["lm"]
        self.lm = Lm(vocab_dim_depth_heads[3], vocab_dim_depth_heads[0], vocab_dim_depth_heads[1], vocab_dim_depth_heads[2])

    def forward(self, images, ids):
        visual = self.fusion([e(x) for e, x in zip(self.experts, images)])
        nv = visual.shape[1]
        logits = self.lm.forward_embeds(torch.cat([visual, self.lm.embed(ids)], 1))
        return logits[:, nv:]


def masked_cross_entropy(logits, targets, mask):
    logp = F.log_softmax(logits, -1).gather(2, targets[..., None])[..., 0]
    return -(logp * mask).sum() / mask.sum().clamp_min(1.0)


def model_flops(f):
    """FLOPs of running f, by FlopCounterMode with two corrections so the count is the model's
    arithmetic and matches Eyrie's: a grouped (depthwise) convolution's backward costs what its
    forward does per gradient (FlopCounterMode ignores the groups there), and attention's backward
    is its four products (FlopCounterMode adds a fifth, the flash kernels' recomputed scores)."""
    from torch.utils.flop_counter import FlopCounterMode, conv_flop_count

    def conv_backward(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed, _output_padding, _groups, output_mask, out_shape=None, **kwargs):
        assert not transposed, "the cell has no transposed convolutions"
        return sum(conv_flop_count(x_shape, w_shape, grad_out_shape) for wanted in output_mask[:2] if wanted)

    with FlopCounterMode(display=False, custom_mapping={torch.ops.aten.convolution_backward: conv_backward}) as counter:
        f()
    total = 0
    for op, n in counter.get_flop_counts()["Global"].items():
        name = str(op)
        total += n * 4 // 5 if "attention" in name and "backward" in name else n
    return total


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


SYNC = lambda: None


def timed(warmup, reps, f, fastest=False):
    for _ in range(warmup):
        f()
    SYNC()
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        SYNC()
        out.append((time.perf_counter() - t) * 1000)
    return (median(out), min(out)) if fastest else median(out)


def main():
    global SYNC
    req = json.loads(sys.stdin.read())
    s, steps, warmup = req["shapes"], req["steps"], req["warmup"]
    dev = torch.device(req.get("device", "cpu"))
    if dev.type == "cuda":
        SYNC = torch.cuda.synchronize
    else:
        torch.set_num_threads(req["threads"])
    dtype = getattr(torch, req.get("dtype", "float32"))
    torch.manual_seed(0)
    model = Mllm(s).to(dev, dtype)
    b, t = s["batch"], s["text_len"]
    vocab = s["lm"][3]
    images = [torch.rand(b, 3, e[4], e[4], device=dev, dtype=dtype) for e in s["experts"]]
    ids = torch.randint(0, vocab, (b, t), device=dev)
    targets = torch.randint(0, vocab, (b, t), device=dev)
    mask = (torch.rand(b, t, device=dev) < 0.3).to(dtype)
    lr, vision_scale = s["lr"]
    expert_params = list(model.experts.parameters())
    ids_of_experts = {id(p) for p in expert_params}
    rest = [p for p in model.parameters() if id(p) not in ids_of_experts]
    opt = torch.optim.AdamW([{"params": rest, "lr": lr}, {"params": expert_params, "lr": lr * vision_scale}], weight_decay=0.01)
    params = list(model.parameters())

    def step():
        loss = masked_cross_entropy(model(images, ids), targets, mask)
        loss.item()  # Eyrie reads the loss every step in the bench (its log)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grads = [p.grad for p in params]
        norms = torch._foreach_norm(grads)
        torch._foreach_mul_(grads, [torch.clamp(1.0 / (n + 1e-6), max=1.0) for n in norms])
        opt.step()

    flops = model_flops(lambda: masked_cross_entropy(model(images, ids), targets, mask).backward())
    opt.zero_grad(set_to_none=True)
    step_ms, step_fastest_ms = timed(warmup, steps, step, fastest=True)
    parts = []

    def whole():
        masked_cross_entropy(model(images, ids), targets, mask).backward()

    parts.append({"part": "whole model forward + loss + backward (no optimiser)", "ms": timed(1, steps, whole)})
    for (kind, *_), e, x in zip(s["experts"], model.experts, images):
        parts.append({"part": f"{kind} forward + backward", "ms": timed(1, steps, lambda: e(x).mean().backward())})
    with torch.no_grad():
        maps = [e(x) for e, x in zip(model.experts, images)]

    def fusion():
        leaves = [m.clone().requires_grad_(True) for m in maps]
        model.fusion(leaves).mean().backward()

    parts.append({"part": f"fusion {s['fusion']} + projector, forward + backward", "ms": timed(1, steps, fusion)})
    embeds = torch.randn(b, s["visual_tokens"] + t, s["lm"][0], device=dev, dtype=dtype)

    def lm():
        model.lm.forward_embeds(embeds.clone().requires_grad_(True)).mean().backward()

    parts.append({"part": "LM forward + backward", "ms": timed(1, steps, lm)})
    total = sum(p.numel() for p in model.parameters())
    print(json.dumps({"step_ms": step_ms, "step_fastest_ms": step_fastest_ms, "params_total": total, "flops_per_step": flops, "parts": parts, "runtime": f"torch {torch.__version__} on {torch.cuda.get_device_name() if dev.type == 'cuda' else f'CPU, {torch.get_num_threads()} threads'}, {req.get('dtype', 'float32')}"}))


if __name__ == "__main__":
    main()
