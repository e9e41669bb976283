#!/usr/bin/env python3
"""Convert a llama2.c checkpoint (legacy "version 0" export) and its tokenizer.bin into a
Hugging Face LlamaForCausalLM folder: config.json, generation_config.json, model.safetensors,
tokenizer.json (SentencePiece BPE family), tokenizer_config.json.

Only the Python standard library is used, so it runs on a bare Debian machine.

    python3 tools/convert_llama2c.py stories260K.bin tok512.bin models/demo/stories260K

The q/k projection rows are permuted from llama2.c's interleaved RoPE pairs (2i, 2i+1) to the
"rotate half" layout of Hugging Face checkpoints (i, i + head_dim/2), exactly as Hugging Face's
own convert_llama_weights_to_hf.py does, so the folder runs under any HF-compatible engine.
"""
import json
import os
import struct
import sys
from array import array

SPIECE_SPACE = "\u2581"


def read_checkpoint(path):
    with open(path, "rb") as f:
        data = f.read()
    dim, hidden, n_layers, n_heads, n_kv, vocab, seq_len = struct.unpack_from("<7i", data, 0)
    shared = vocab > 0
    vocab = abs(vocab)
    floats = array("f")
    floats.frombytes(data[28:])
    if sys.byteorder != "little":
        floats.byteswap()
    head = dim // n_heads
    kv_dim = dim * n_kv // n_heads
    cfg = dict(dim=dim, hidden=hidden, n_layers=n_layers, n_heads=n_heads, n_kv=n_kv,
               vocab=vocab, seq_len=seq_len, head=head, kv_dim=kv_dim, shared=shared)
    pos = 0

    def take(count):
        nonlocal pos
        if pos + count > len(floats):
            sys.exit(f"{path}: truncated checkpoint (needs more than {len(floats)} floats)")
        out = floats[pos:pos + count]
        pos += count
        return out

    w = {}
    w["embed"] = take(vocab * dim)
    w["rms_att"] = take(n_layers * dim)
    w["wq"] = take(n_layers * dim * dim)
    w["wk"] = take(n_layers * kv_dim * dim)
    w["wv"] = take(n_layers * kv_dim * dim)
    w["wo"] = take(n_layers * dim * dim)
    w["rms_ffn"] = take(n_layers * dim)
    w["w1"] = take(n_layers * hidden * dim)
    w["w2"] = take(n_layers * dim * hidden)
    w["w3"] = take(n_layers * hidden * dim)
    w["rms_final"] = take(dim)
    take(seq_len * head)  # legacy freq_cis_real + freq_cis_imag (seq_len * head/2 each)
    if not shared:
        w["wcls"] = take(vocab * dim)
    if pos != len(floats):
        sys.exit(f"{path}: {len(floats) - pos} unexpected trailing floats")
    return cfg, w


def layer_slice(flat, layer, rows, cols):
    n = rows * cols
    return flat[layer * n:(layer + 1) * n]


def permute_rope(mat, n_heads, rows, cols):
    """Interleaved pairs -> rotate-half halves, per head (HF's permute())."""
    head = rows // n_heads
    half = head // 2
    out = array("f", bytes(4 * rows * cols))
    for h in range(n_heads):
        for i in range(half):
            for c in range(2):
                src = h * head + 2 * i + c
                dst = h * head + c * half + i
                out[dst * cols:(dst + 1) * cols] = mat[src * cols:(src + 1) * cols]
    return out


def write_safetensors(path, tensors):
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    blobs = []
    for name, shape, values in tensors:
        raw = values.tobytes() if sys.byteorder == "little" else _swapped(values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)  # the spec allows space padding; keeps data aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def _swapped(values):
    c = array("f", values)
    c.byteswap()
    return c.tobytes()


def read_tokenizer(path, vocab_size):
    with open(path, "rb") as f:
        data = f.read()
    pos = 4  # max_token_length
    pieces = []
    for i in range(vocab_size):
        score, length = struct.unpack_from("<fi", data, pos)
        pos += 8
        pieces.append((data[pos:pos + length].decode("utf-8"), score))
        pos += length
    if pos != len(data):
        sys.exit(f"{path}: {len(data) - pos} unexpected trailing bytes")
    return pieces


SPECIALS = {0: "<unk>", 1: "<s>", 2: "</s>"}


def build_tokenizer_json(pieces):
    vocab = {}
    scores = {}
    for i, (text, score) in enumerate(pieces):
        piece = SPECIALS.get(i, text.replace(" ", SPIECE_SPACE))
        vocab[piece] = i
        scores[piece] = score
    # Merges as Hugging Face's SentencePieceExtractor derives them: every split of a piece into two
    # pieces of the vocabulary, ordered by the merged piece's score (higher merges first).
    merges = []
    for piece, pid in vocab.items():
        if pid in SPECIALS or (piece.startswith("<0x") and piece.endswith(">")):
            continue
        local = []
        for k in range(1, len(piece)):
            left, right = piece[:k], piece[k:]
            if left in vocab and right in vocab:
                local.append((left, right, scores[piece]))
        local.sort(key=lambda m: (vocab[m[0]], vocab[m[1]]))
        merges.extend(local)
    merges.sort(key=lambda m: m[2], reverse=True)  # stable: ties keep the order above

    def added(i, text):
        return {"id": i, "content": text, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True}

    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added(i, t) for i, t in SPECIALS.items()],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": SPIECE_SPACE},
            {"type": "Replace", "pattern": {"String": " "}, "content": SPIECE_SPACE}]},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SPIECE_SPACE}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": "<unk>",
            "continuing_subword_prefix": None, "end_of_word_suffix": None,
            "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
            "vocab": vocab,
            "merges": [[a, b] for a, b, _ in merges]},
    }


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    ckpt, tok, out = sys.argv[1:]
    cfg, w = read_checkpoint(ckpt)
    os.makedirs(out, exist_ok=True)
    d, hd, L = cfg["dim"], cfg["hidden"], cfg["n_layers"]
    kv = cfg["kv_dim"]
    tensors = [("model.embed_tokens.weight", [cfg["vocab"], d], w["embed"])]
    for i in range(L):
        p = f"model.layers.{i}."
        tensors += [
            (p + "input_layernorm.weight", [d], layer_slice(w["rms_att"], i, 1, d)),
            (p + "self_attn.q_proj.weight", [d, d],
             permute_rope(layer_slice(w["wq"], i, d, d), cfg["n_heads"], d, d)),
            (p + "self_attn.k_proj.weight", [kv, d],
             permute_rope(layer_slice(w["wk"], i, kv, d), cfg["n_kv"], kv, d)),
            (p + "self_attn.v_proj.weight", [kv, d], layer_slice(w["wv"], i, kv, d)),
            (p + "self_attn.o_proj.weight", [d, d], layer_slice(w["wo"], i, d, d)),
            (p + "post_attention_layernorm.weight", [d], layer_slice(w["rms_ffn"], i, 1, d)),
            (p + "mlp.gate_proj.weight", [hd, d], layer_slice(w["w1"], i, hd, d)),
            (p + "mlp.down_proj.weight", [d, hd], layer_slice(w["w2"], i, d, hd)),
            (p + "mlp.up_proj.weight", [hd, d], layer_slice(w["w3"], i, hd, d)),
        ]
    tensors.append(("model.norm.weight", [d], w["rms_final"]))
    if not cfg["shared"]:
        tensors.append(("lm_head.weight", [cfg["vocab"], d], w["wcls"]))
    write_safetensors(os.path.join(out, "model.safetensors"), tensors)

    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": d,
        "intermediate_size": hd,
        "num_hidden_layers": L,
        "num_attention_heads": cfg["n_heads"],
        "num_key_value_heads": cfg["n_kv"],
        "head_dim": cfg["head"],
        "vocab_size": cfg["vocab"],
        "max_position_embeddings": cfg["seq_len"],
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": cfg["shared"],
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "float32",
    }
    # llama2.c ends a story when the model emits BOS (a new story starts), so both BOS and EOS stop.
    generation = {"bos_token_id": 1, "eos_token_id": [2, 1], "do_sample": True,
                  "temperature": 0.8, "top_p": 0.9}
    tok_config = {
        "add_bos_token": True, "add_eos_token": False,
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
        "model_max_length": cfg["seq_len"], "tokenizer_class": "LlamaTokenizer",
        "clean_up_tokenization_spaces": False, "legacy": True,
        "added_tokens_decoder": {str(i): {"content": t, "lstrip": False, "normalized": False,
                                          "rstrip": False, "single_word": False, "special": True}
                                 for i, t in SPECIALS.items()},
    }
    pieces = read_tokenizer(tok, cfg["vocab"])
    for name, obj in [("config.json", config), ("generation_config.json", generation),
                      ("tokenizer_config.json", tok_config)]:
        with open(os.path.join(out, name), "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(build_tokenizer_json(pieces), f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
