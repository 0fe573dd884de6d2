"""Checkpoint folders of Eagle-X4's real encoder shapes with random weights, for sizing only.

No model hub is reachable from Eyrie's machines, so the README's `eyrie plan --memory` figures for
the X4 set (Shi et al. 2024, "Eagle": CLIP + ConvNeXt + Pix2Struct + EVA-02) are computed on folders
laid out exactly as the hubs lay out the real checkpoints, with the real configs (dimensions from the
public model cards: openai/clip-vit-large-patch14-336, ConvNeXt-XXLarge as in LAION's CLIP-ConvNeXt,
google/pix2struct-large's encoder, timm's eva02_large_patch14_448) and random f16 weights.
`eyrie plan` reads only configs and safetensors headers (and hashes the files), so its figures are
the same as on the real weights.

The LM is Vicuna-7B-v1.5's shape (LLaVA-1.5's and Eagle's 7B base: Llama-2-7B, 4096 wide, 32 layers
of 32 heads, 11008-wide MLP, 32000 tokens) in bf16, written as a sparse file of zero weights (13.5 GB
that take no disk space and no memory to make), with a stand-in `tokenizer.json` of 32000 word-level
tokens and no chat template (Eyrie then uses LLaVA-1.5's vicuna_v1 conversation, as Vicuna's own
folder would need).

    python tools/real_size_checkpoints.py --out models       # ~3.5 GB of f16 files + a sparse 13.5 GB LM
"""

import argparse
import json
import struct
import os
import shutil

import torch


def save_hf(model, folder):
    shutil.rmtree(folder, ignore_errors=True)
    model.half().save_pretrained(folder, safe_serialization=True)
    print(folder, sum(p.numel() for p in model.parameters()), "parameters")


def sparse_llama(folder, hidden=4096, inter=11008, layers=32, heads=32, vocab=32000):
    """A LlamaForCausalLM folder of the given shape with all-zero bf16 weights in a sparse file."""
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    shapes = {"model.embed_tokens.weight": [vocab, hidden], "model.norm.weight": [hidden], "lm_head.weight": [vocab, hidden]}
    for i in range(layers):
        p = f"model.layers.{i}."
        for name in ["q_proj", "k_proj", "v_proj", "o_proj"]:
            shapes[p + f"self_attn.{name}.weight"] = [hidden, hidden]
        shapes[p + "mlp.gate_proj.weight"] = [inter, hidden]
        shapes[p + "mlp.up_proj.weight"] = [inter, hidden]
        shapes[p + "mlp.down_proj.weight"] = [hidden, inter]
        shapes[p + "input_layernorm.weight"] = [hidden]
        shapes[p + "post_attention_layernorm.weight"] = [hidden]
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name in sorted(shapes):
        n = 2
        for d in shapes[name]:
            n *= d
        header[name] = {"dtype": "BF16", "shape": shapes[name], "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(folder, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        f.truncate(8 + len(text) + offset)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": hidden,
              "intermediate_size": inter, "num_hidden_layers": layers, "num_attention_heads": heads,
              "num_key_value_heads": heads, "vocab_size": vocab, "rms_norm_eps": 1e-5, "hidden_act": "silu",
              "max_position_embeddings": 4096, "rope_theta": 10000.0, "tie_word_embeddings": False,
              "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16"}
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    from tokenizers import Tokenizer, models, pre_tokenizers
    words = ["<unk>", "<s>", "</s>"] + [f"w{i}" for i in range(vocab - 3)]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_special_tokens(["<unk>", "<s>", "</s>"])
    tok.save(os.path.join(folder, "tokenizer.json"))
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}, f, indent=2)
    params = sum(v["data_offsets"][1] - v["data_offsets"][0] for k, v in header.items() if k != "__metadata__") // 2
    print(folder, params, "parameters (sparse zero bf16)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--lm-only", action="store_true", help="write only the sparse Vicuna-7B-shaped LM")
    args = parser.parse_args()
    sparse_llama(os.path.join(args.out, "vicuna-7b-v1.5"))
    if args.lm_only:
        return
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
