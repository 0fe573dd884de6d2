"""A tiny random Llama with its own byte-level BPE tokenizer, for the LLaVA-format training smoke test.

The folder is laid out as the hub lays out a Llama checkpoint (config.json, generation_config.json,
model.safetensors, tokenizer.json, tokenizer_config.json with a chat template), so Eyrie loads it
through the same path as a real LM. The tokenizer is trained on the dataset's own texts (train.json's
conversations, eval.jsonl's questions and answers) plus the chat template's fixed words, to about 320
tokens: the 256 byte alphabet, a few merges and the special tokens `<unk>` `<s>` `</s>` `<pad>`. The
chat template is LLaVA-1.5's Vicuna v1 format; `<image>` stays plain text (the trainer splits on it).

Every parameter is re-randomised from --seed (weights N(0, 0.02), RMSNorm weights 1), and the
tokenizer is trained single-threaded, so the same data and seed give byte-identical files.

    pip install torch transformers tokenizers safetensors
    python tools/llava_lm_fixture.py --data DATA_DIR --out OUT_DIR [--seed 0]
"""

import os

# Before `tokenizers` starts its thread pool: the trainer then runs on one thread.
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import json
import shutil

import torch

VOCAB_SIZE = 320  # in all: 4 special tokens, 256 bytes, the rest merges
SPECIALS = ["<unk>", "<s>", "</s>", "<pad>"]  # ids 0..3, in this order (Llama's unk 0, bos 1, eos 2)
MAX_LENGTH = 256
SYSTEM = "A chat between a curious human and an artificial intelligence assistant."
# Vicuna v1 as LLaVA-1.5 writes it: "<s>SYSTEM USER: q ASSISTANT: a</s>USER: q2 ASSISTANT: a2</s>".
# Plain Jinja only (no raise_exception, no Python methods), so minijinja renders it as transformers does.
CHAT_TEMPLATE = (
    "{{ bos_token }}" + SYSTEM + " "
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}USER: {{ message['content'] }} "
    "{% elif message['role'] == 'assistant' %}ASSISTANT: {{ message['content'] }}{{ eos_token }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)
TEMPLATE_WORDS = SYSTEM + " USER: ASSISTANT:"
ROLES = {"human": "user", "gpt": "assistant"}


def read_data(folder):
    """The training conversations (as chat messages) and every text the model will see."""
    with open(os.path.join(folder, "train.json"), encoding="utf-8") as f:
        records = json.load(f)
    conversations = [[{"role": ROLES[t["from"]], "content": t["value"]} for t in r["conversations"]] for r in records]
    texts = [m["content"] for c in conversations for m in c]
    with open(os.path.join(folder, "eval.jsonl"), encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            e = json.loads(line)
            answers = e["answer"] if isinstance(e["answer"], list) else [e["answer"]]
            texts += [e["question"], *answers]
    # The template's fixed words once per conversation, so that they weigh as they do in training.
    texts += [TEMPLATE_WORDS] * len(conversations)
    return conversations, texts


def train_tokenizer(texts):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIALS,  # added as special tokens after training, so `</s>` in text is one id
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    for text in texts:
        back = tok.decode(tok.encode(text, add_special_tokens=False).ids, skip_special_tokens=False)
        assert back == text, f"round trip: {text!r} -> {back!r}"
    return tok


def tokenizer_config(tok):
    """tokenizer_config.json as the hub writes it for a tokenizers-backed (byte-level) Llama."""
    added = {
        str(tok.token_to_id(s)): dict(content=s, lstrip=False, normalized=False, rstrip=False, single_word=False,
                                      special=True)
        for s in SPECIALS
    }
    return {
        "add_bos_token": False,  # the chat template writes `<s>` itself
        "add_eos_token": False,
        "added_tokens_decoder": added,
        "bos_token": "<s>",
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "</s>",
        "model_max_length": MAX_LENGTH,
        "pad_token": "<pad>",
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": "<unk>",
    }


def rerandomise(model, generator):
    """Weights N(0, 0.02), RMSNorm weights 1 (Llama has no biases)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and "norm" in name:
                p.fill_(1.0)
            else:
                p.copy_(0.02 * torch.randn(p.shape, generator=generator))


def build_model(tok, gen):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=tok.get_vocab_size(with_added_tokens=True),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=MAX_LENGTH,
        rope_parameters={"rope_theta": 10000.0, "rope_type": "default"},
        tie_word_embeddings=False,
        bos_token_id=tok.token_to_id("<s>"),
        eos_token_id=tok.token_to_id("</s>"),
        pad_token_id=tok.token_to_id("<pad>"),
    )
    model = LlamaForCausalLM(config).float().eval()
    rerandomise(model, gen)
    return model


def check_template(out, tok, conversations):
    """Through transformers, as a user of the folder would: the template is prefix-stable (in text and in
    ids), no BOS is added on top of the template's, and every rendering decodes back to itself."""
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(out)
    assert hf.encode("hello", add_special_tokens=True) == tok.encode("hello", add_special_tokens=False).ids
    longest = 0
    for messages in conversations:
        full = hf.apply_chat_template(messages, tokenize=False)
        ids = tok.encode(full, add_special_tokens=False).ids
        assert ids[0] == tok.token_to_id("<s>") and ids.count(tok.token_to_id("</s>")) == sum(
            m["role"] == "assistant" for m in messages
        ), full
        assert hf.encode(full, add_special_tokens=True) == ids, full
        assert tok.decode(ids, skip_special_tokens=False) == full, full
        longest = max(longest, len(ids))
        for k, m in enumerate(messages):
            if m["role"] != "user":
                continue
            prompt = hf.apply_chat_template(messages[: k + 1], tokenize=False, add_generation_prompt=True)
            assert full.startswith(prompt), f"not a prefix:\n{prompt!r}\n{full!r}"
            prompt_ids = tok.encode(prompt, add_special_tokens=False).ids
            assert ids[: len(prompt_ids)] == prompt_ids, f"ids not a prefix: {prompt!r}"
    return longest


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True, help="LLaVA-format folder with train.json and eval.jsonl")
    parser.add_argument("--out", required=True, help="checkpoint folder to write (replaced)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    conversations, texts = read_data(args.data)
    assert conversations, "train.json holds no conversations"

    tok = train_tokenizer(texts)
    gen = torch.Generator().manual_seed(args.seed)
    model = build_model(tok, gen)

    from transformers.utils import logging

    logging.disable_progress_bar()
    shutil.rmtree(args.out, ignore_errors=True)
    model.save_pretrained(args.out, safe_serialization=True)
    tok.save(os.path.join(args.out, "tokenizer.json"))
    with open(os.path.join(args.out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_config(tok), f, indent=2, ensure_ascii=False)
        f.write("\n")
    longest = check_template(args.out, tok, conversations)

    # Sanity: one rendered conversation, its tokens, and the model's forward on it.
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(args.out)
    sample = max(conversations, key=len)
    text = hf.apply_chat_template(sample, tokenize=False)
    ids = tok.encode(text, add_special_tokens=False).ids
    print(f"sample: {text!r}")
    print(f"tokens ({len(ids)}): {[tok.id_to_token(i) for i in ids]}")
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits
    vocab = tok.get_vocab_size(with_added_tokens=True)
    assert logits.shape == (1, len(ids), vocab), logits.shape
    print(f"forward: logits {tuple(logits.shape)}")

    files = sorted(os.listdir(args.out))
    size = sum(os.path.getsize(os.path.join(args.out, f)) for f in files)
    ids_of = {s: tok.token_to_id(s) for s in SPECIALS}
    print(f"vocabulary: {vocab} tokens ({', '.join(f'{s}={i}' for s, i in ids_of.items())})")
    print(f"parameters: {sum(p.numel() for p in model.parameters())}")
    print(f"longest training conversation: {longest} tokens (model_max_length {MAX_LENGTH}, before image tokens)")
    print(f"folder: {args.out}: {size} bytes in {', '.join(files)}")


if __name__ == "__main__":
    main()
