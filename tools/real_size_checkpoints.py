"""Checkpoint folders of Eagle-X4's real encoder shapes with random weights, for sizing only.

No model hub is reachable from Eyrie's machines, so the README's `eyrie plan --memory` figures for
the X4 set (Shi et al. 2024, "Eagle": CLIP + ConvNeXt + Pix2Struct + EVA-02) are computed on folders
laid out exactly as the hubs lay out the real checkpoints, with the real configs (dimensions from the
public model cards: openai/clip-vit-large-patch14-336, ConvNeXt-XXLarge as in LAION's CLIP-ConvNeXt,
google/pix2struct-large's encoder, timm's eva02_large_patch14_448) and random f16 weights.
`eyrie plan` reads only configs and safetensors headers (and hashes the files), so its figures are
the same as on the real weights.

    python tools/real_size_checkpoints.py --out models/x4-shapes       # ~3.5 GB of f16 files
"""

import argparse
import json
import os
import shutil

import torch


def save_hf(model, folder):
    shutil.rmtree(folder, ignore_errors=True)
    model.half().save_pretrained(folder, safe_serialization=True)
    print(folder, sum(p.numel() for p in model.parameters()), "parameters")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    from transformers import (CLIPVisionConfig, CLIPVisionModel, ConvNextConfig, ConvNextModel,
                              Pix2StructVisionConfig, Pix2StructVisionModel)

    clip = CLIPVisionConfig(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                            image_size=336, patch_size=14, hidden_act="quick_gelu", projection_dim=768)
    save_hf(CLIPVisionModel(clip), os.path.join(args.out, "clip-vit-large-patch14-336"))
    convnext = ConvNextConfig(depths=[3, 4, 30, 3], hidden_sizes=[384, 768, 1536, 3072], image_size=1024)
    save_hf(ConvNextModel(convnext), os.path.join(args.out, "convnext-xxlarge"))
    pix = Pix2StructVisionConfig(hidden_size=1536, num_hidden_layers=18, num_attention_heads=24, d_ff=3968, d_kv=64,
                                 patch_embed_hidden_size=768, seq_len=4096)
    save_hf(Pix2StructVisionModel(pix), os.path.join(args.out, "pix2struct-large"))

    import timm
    from timm.models._hub import save_for_hf

    eva = timm.create_model("eva02_large_patch14_448", pretrained=False, num_classes=0).half()
    folder = os.path.join(args.out, "eva02_large_patch14_448")
    shutil.rmtree(folder, ignore_errors=True)
    save_for_hf(eva, folder, safe_serialization=True)
    print(folder, sum(p.numel() for p in eva.parameters()), "parameters")


if __name__ == "__main__":
    main()
