"""Tiny random checkpoints and their reference outputs, for Eyrie's parity tests.

Each fixture is a folder laid out as the hub lays it out (config.json + model.safetensors, or shards
with model.safetensors.index.json), plus `inputs.safetensors` (`input.<argument>`, as transformers
names the forward's arguments) and `expected.safetensors` (`output.<field>`, f32), which
`eyrie checkpoint forward DIR --inputs inputs.safetensors --out OUT` must reproduce.

Every parameter is re-randomised: the libraries' own inits are degenerate for a parity check (zero
biases, unit norms, layer scales of 1e-6 that hide a whole branch).

    pip install torch transformers timm safetensors
    python tools/parity_fixtures.py --out tests/fixtures/checkpoints          # the committed set
    python tools/parity_fixtures.py --out /tmp/other --variant 1 --seed 7     # other sizes, unseen
"""

import argparse
import json
import math
import os
import shutil

import torch
from safetensors.torch import save_file


def rerandomise(model, generator):
    """Draws every parameter anew: norm weights near 1, matrices scaled by fan-in, the rest small."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            g = torch.randn(p.shape, generator=generator)
            lower = name.lower()
            if p.dim() == 1 and ("norm" in lower or "ln" in lower) and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * g)
            elif "layer_scale" in lower:
                p.copy_(0.5 + 0.2 * g)
            elif p.dim() >= 2 and "embedding" not in lower:
                fan_in = p[0].numel()
                p.copy_(g / math.sqrt(fan_in))
            elif "embedding" in lower:
                p.copy_(0.5 * g)
            else:
                p.copy_(0.1 * g)


def save(model, folder, inputs, outputs, shard=None, dtype=None):
    """Writes the checkpoint (optionally sharded or in a half type) and its input/output pair."""
    shutil.rmtree(folder, ignore_errors=True)
    if dtype is not None:
        # Outputs were computed with the weights rounded to `dtype` and widened back, so a loader
        # that widens them to f32 must reproduce them exactly.
        model = model.to(dtype)
    kwargs = {"max_shard_size": shard} if shard else {}
    model.save_pretrained(folder, **kwargs)
    for extra in os.listdir(folder):
        if extra not in ("config.json", "model.safetensors", "model.safetensors.index.json") and not extra.startswith(
            "model-"
        ):
            os.remove(os.path.join(folder, extra))
    save_file({f"input.{k}": v.contiguous() for k, v in inputs.items()}, os.path.join(folder, "inputs.safetensors"))
    save_file(
        {f"output.{k}": v.float().contiguous() for k, v in outputs.items()}, os.path.join(folder, "expected.safetensors")
    )


def round_weights(model, dtype):
    """Rounds every parameter to `dtype` and back (what a half-type checkpoint stores)."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).float())


def clip_vision(out, gen, variant):
    from transformers import CLIPVisionConfig, CLIPVisionModel

    sizes = [(24, 3, 32, 8, "quick_gelu"), (20, 4, 24, 6, "gelu")][variant]
    hidden, heads, image, patch, act = sizes
    config = CLIPVisionConfig(
        hidden_size=hidden,
        intermediate_size=2 * hidden + 5,
        num_hidden_layers=2,
        num_attention_heads=heads,
        image_size=image,
        patch_size=patch,
        hidden_act=act,
    )
    model = CLIPVisionModel(config).eval()
    rerandomise(model, gen)
    x = torch.randn(2, 3, image, image, generator=gen)
    with torch.no_grad():
        o = model(pixel_values=x)
    save(model, out, {"pixel_values": x}, {"last_hidden_state": o.last_hidden_state, "pooler_output": o.pooler_output})


def clip_full_sharded_f16(out, gen, variant):
    from transformers import CLIPConfig, CLIPModel

    hidden = [16, 12][variant]
    config = CLIPConfig(
        vision_config=dict(
            hidden_size=hidden, intermediate_size=40, num_hidden_layers=2, num_attention_heads=2, image_size=16,
            patch_size=4,
        ),
        text_config=dict(
            hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, vocab_size=50,
            max_position_embeddings=16, eos_token_id=2, bos_token_id=1,
        ),
        projection_dim=8,
    )
    model = CLIPModel(config).eval()
    rerandomise(model, gen)
    round_weights(model, torch.float16)
    x = torch.randn(1, 3, 16, 16, generator=gen)
    with torch.no_grad():
        o = model.vision_model(pixel_values=x)
    save(
        model,
        out,
        {"pixel_values": x},
        {"last_hidden_state": o.last_hidden_state, "pooler_output": o.pooler_output},
        shard="8KB",
        dtype=torch.float16,
    )


def convnext(out, gen, variant):
    from transformers import ConvNextConfig, ConvNextModel

    sizes, depths, image = [([8, 16, 24], [1, 2, 1], 32), ([6, 12], [2, 1], 24)][variant]
    config = ConvNextConfig(hidden_sizes=sizes, depths=depths, num_stages=len(sizes), patch_size=4, image_size=image)
    model = ConvNextModel(config).eval()
    rerandomise(model, gen)
    x = torch.randn(2, 3, image, image, generator=gen)
    with torch.no_grad():
        o = model(pixel_values=x)
    save(model, out, {"pixel_values": x}, {"last_hidden_state": o.last_hidden_state, "pooler_output": o.pooler_output})


def llama(out, gen, variant):
    from transformers import LlamaConfig, LlamaForCausalLM

    hidden, heads, kv, tie, theta = [(32, 4, 2, False, 10000.0), (24, 6, 3, True, 500.0)][variant]
    config = LlamaConfig(
        vocab_size=61,
        hidden_size=hidden,
        intermediate_size=2 * hidden + 3,
        num_hidden_layers=2,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        tie_word_embeddings=tie,
        rope_parameters={"rope_theta": theta, "rope_type": "default"},
        max_position_embeddings=64,
    )
    model = LlamaForCausalLM(config).eval()
    rerandomise(model, gen)
    ids = torch.randint(0, 61, (2, 9), generator=gen)
    with torch.no_grad():
        o = model(input_ids=ids)
    save(model, out, {"input_ids": ids}, {"logits": o.logits})


def pix2struct_patches(gen, rows, cols, patch, pad, batch=2):
    """Flattened patches as Pix2Struct's processor lays them out: row id, column id (from 1), pixels;
    zero rows for padding, masked out."""
    n = rows * cols
    ids = torch.tensor([[r + 1, c + 1] for r in range(rows) for c in range(cols)], dtype=torch.float32)
    pixels = torch.randn(batch, n, patch * patch * 3, generator=gen)
    real = torch.cat([ids.expand(batch, n, 2), pixels], dim=-1)
    x = torch.cat([real, torch.zeros(batch, pad, real.shape[-1])], dim=1)
    mask = torch.cat([torch.ones(batch, n), torch.zeros(batch, pad)], dim=1)
    return x, mask


def pix2struct(out, gen, variant):
    from transformers import Pix2StructConfig, Pix2StructForConditionalGeneration, Pix2StructVisionConfig
    from transformers import Pix2StructVisionModel

    hidden, heads, d_kv, patch, act = [(24, 3, 8, 4, "gelu_new"), (20, 2, 6, 3, "gelu")][variant]
    vision = dict(
        hidden_size=hidden,
        patch_embed_hidden_size=patch * patch * 3,
        d_ff=40,
        d_kv=d_kv,
        num_hidden_layers=2,
        num_attention_heads=heads,
        seq_len=16,
        dense_act_fn=act,
    )
    if variant == 0:
        model = Pix2StructVisionModel(Pix2StructVisionConfig(**vision)).eval()
        encoder = model
    else:
        # Variant 1: the encoder of a full image-to-text model (keys under `encoder.`, a decoder beside it).
        text = dict(vocab_size=50, hidden_size=16, d_ff=32, d_kv=8, num_layers=1, num_heads=2)
        model = Pix2StructForConditionalGeneration(Pix2StructConfig(vision_config=vision, text_config=text)).eval()
        encoder = model.encoder
    rerandomise(model, gen)
    x, mask = pix2struct_patches(gen, 2, 3, patch, 4)
    with torch.no_grad():
        o = encoder(flattened_patches=x, attention_mask=mask)
    save(model, out, {"flattened_patches": x, "attention_mask": mask}, {"last_hidden_state": o.last_hidden_state})


def sam_sizes(variant):
    """SamVisionConfig kwargs: a grid that the windows do not divide (padding), global attention in between."""
    hidden, heads, image, patch, window, glob = [(16, 2, 40, 8, 3, [1]), (12, 3, 42, 6, 4, [0, 2])][variant]
    return dict(
        hidden_size=hidden, output_channels=8, num_hidden_layers=3, num_attention_heads=heads, image_size=image,
        patch_size=patch, window_size=window, global_attn_indexes=glob, mlp_dim=2 * hidden + 3,
    )


def sam_vision(out, gen, variant):
    from transformers import SamVisionConfig, SamVisionModel

    config = SamVisionConfig(**sam_sizes(variant))
    model = SamVisionModel(config).eval()
    rerandomise(model, gen)  # rel-pos tables, pos_embed and the neck too: SAM's own init zeroes them
    x = torch.randn(2, 3, config.image_size, config.image_size, generator=gen)
    with torch.no_grad():
        o = model(pixel_values=x)
    save(model, out, {"pixel_values": x}, {"last_hidden_state": o.last_hidden_state})


def sam_full(out, gen, variant):
    from transformers import SamConfig, SamModel

    vision = sam_sizes(variant)
    config = SamConfig(
        vision_config=vision,
        prompt_encoder_config=dict(
            hidden_size=8, image_size=vision["image_size"], patch_size=vision["patch_size"], mask_input_channels=4
        ),
        mask_decoder_config=dict(hidden_size=8, num_hidden_layers=1, num_attention_heads=2, mlp_dim=16,
                                 iou_head_hidden_dim=8),
    )
    model = SamModel(config).eval()
    rerandomise(model, gen)
    x = torch.randn(1, 3, vision["image_size"], vision["image_size"], generator=gen)
    with torch.no_grad():
        o = model.vision_encoder(pixel_values=x)
    save(model, out, {"pixel_values": x}, {"last_hidden_state": o.last_hidden_state})


def save_timm(model, folder, inputs, outputs):
    """Writes a timm checkpoint as timm's hub export does (config.json with `architecture` and `model_args`)."""
    from timm.models._hub import save_for_hf

    shutil.rmtree(folder, ignore_errors=True)
    save_for_hf(model, folder, safe_serialization=True)
    save_file({f"input.{k}": v.contiguous() for k, v in inputs.items()}, os.path.join(folder, "inputs.safetensors"))
    save_file(
        {f"output.{k}": v.float().contiguous() for k, v in outputs.items()}, os.path.join(folder, "expected.safetensors")
    )


def timm_eva02(architecture, image, dim, heads, out, gen, **extra):
    import timm

    model = timm.create_model(
        architecture, pretrained=False, img_size=image, embed_dim=dim, depth=2, num_heads=heads, num_classes=5, **extra
    ).eval()
    rerandomise(model, gen)
    x = torch.randn(2, 3, image, image, generator=gen)
    with torch.no_grad():
        features = model.forward_features(x)
    save_timm(model, out, {"x": x}, {"features": features})


def eva02(out, gen, variant):
    """Fused qkv with q/v biases, packed SwiGLU, fc_norm (so no final norm in forward_features)."""
    if variant == 0:
        timm_eva02("eva02_tiny_patch14_224", 28, 16, 2, out, gen)
    else:
        timm_eva02("eva02_base_patch14_448", 42, 24, 3, out, gen)


def eva02_clip(out, gen, variant):
    """Separate q/k/v (no k bias), SwiGLU with its norm, the inner attention norm, token pool (final norm)."""
    if variant == 0:
        timm_eva02("eva02_base_patch16_clip_224", 32, 16, 2, out, gen)
    else:
        timm_eva02("eva02_large_patch14_clip_336", 42, 32, 4, out, gen, ref_feat_shape=(5, 4))


FIXTURES = {
    "clip-vision": clip_vision,
    "clip-full-sharded-f16": clip_full_sharded_f16,
    "convnext": convnext,
    "llama": llama,
    "pix2struct": pix2struct,
    "sam-vision": sam_vision,
    "sam-full": sam_full,
    "eva02": eva02,
    "eva02-clip": eva02_clip,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="folder that gets one sub-folder per fixture")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variant", type=int, default=0, choices=[0, 1], help="0: the committed sizes; 1: others")
    parser.add_argument("--only", nargs="*", default=list(FIXTURES), choices=list(FIXTURES))
    args = parser.parse_args()
    for name in args.only:
        # Seeded by the fixture's place in FIXTURES, so that --only remakes the same fixture.
        gen = torch.Generator().manual_seed(args.seed * 1000 + list(FIXTURES).index(name))
        FIXTURES[name](os.path.join(args.out, name), gen, args.variant)
        size = sum(os.path.getsize(os.path.join(args.out, name, f)) for f in os.listdir(os.path.join(args.out, name)))
        print(f"{name}: {size} bytes")


if __name__ == "__main__":
    main()
