#!/usr/bin/env python3
"""Write a GGUF file of random BF16 weights in the shape of a model card.

Why: issue targets compare `ascent bench --load-format dummy` with llama.cpp's
llama-bench on the same shape. llama-bench needs a GGUF file, and no real
weights can be downloaded here, so this builds one from the card's config.json
and tokenizer.json alone (Qwen2 and Llama cards). Values are bounded random
BF16 numbers (|w| in [2^-7, 2^-5)), so no NaN, Inf or denormal slows either
engine; speed does not depend on the values.

Usage: tools/make_peer_gguf.py models/cards/qwen2-0.5b /tmp/qwen2-0.5b-bf16.gguf
Pure standard library: GGUF is a small binary format (magic, key/values,
tensor table, aligned data).
"""
import json
import os
import struct
import sys

GGUF_VERSION = 3
ALIGN = 32
T_U32, T_I32, T_F32, T_BOOL, T_STR, T_ARR = 4, 5, 6, 7, 8, 9
GGML_F32, GGML_BF16 = 0, 30
FILE_TYPE_BF16 = 32


def gguf_str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


class Writer:
    def __init__(self):
        self.kv = []
        self.tensors = []  # (name, shape outermost-first, ggml type, nbytes)

    def add(self, key, vtype, value):
        out = gguf_str(key) + struct.pack("<I", vtype)
        out += self._value(vtype, value)
        self.kv.append(out)

    def add_array(self, key, etype, values):
        out = gguf_str(key) + struct.pack("<IIQ", T_ARR, etype, len(values))
        out += b"".join(self._value(etype, v) for v in values)
        self.kv.append(out)

    @staticmethod
    def _value(vtype, v):
        if vtype == T_STR:
            return gguf_str(v)
        fmt = {T_U32: "<I", T_I32: "<i", T_F32: "<f", T_BOOL: "<?"}[vtype]
        return struct.pack(fmt, v)

    def tensor(self, name, shape, gtype):
        n = 1
        for d in shape:
            n *= d
        self.tensors.append((name, shape, gtype, n * (2 if gtype == GGML_BF16 else 4)))

    def write(self, path):
        header = b"GGUF" + struct.pack("<IQQ", GGUF_VERSION, len(self.tensors), len(self.kv))
        infos, offsets, off = [], [], 0
        for name, shape, gtype, nbytes in self.tensors:
            dims = list(reversed(shape))  # GGUF lists the innermost dimension first
            infos.append(gguf_str(name) + struct.pack("<I", len(dims))
                         + b"".join(struct.pack("<Q", d) for d in dims)
                         + struct.pack("<IQ", gtype, off))
            offsets.append(off)
            off += (nbytes + ALIGN - 1) // ALIGN * ALIGN
        meta = header + b"".join(self.kv) + b"".join(infos)
        meta += b"\0" * ((-len(meta)) % ALIGN)
        rng = Bounded()
        with open(path, "wb") as f:
            f.write(meta)
            for (name, shape, gtype, nbytes), o in zip(self.tensors, offsets):
                if name.endswith("norm.weight"):
                    f.write(struct.pack("<f", 1.0) * (nbytes // 4))
                elif gtype == GGML_F32:
                    f.write(struct.pack("<f", 0.01) * (nbytes // 4))
                else:
                    rng.write_bf16(f, nbytes)
                f.write(b"\0" * ((-nbytes) % ALIGN))


class Bounded:
    """Random BF16 values with a fixed small exponent, generated at C speed."""

    def __init__(self):
        # high byte of a little-endian bf16: sign bit from the random byte,
        # exponent bits fixed so |w| is in [2^-7, 2^-5)
        self.high = bytes(((b & 0x80) | 0x3C | (b & 0x01)) for b in range(256))

    def write_bf16(self, f, nbytes):
        chunk = 1 << 24
        left = nbytes
        while left:
            n = min(chunk, left)
            buf = bytearray(os.urandom(n))
            buf[1::2] = bytes(buf[1::2]).translate(self.high)
            f.write(buf)
            left -= n


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_peer_gguf.py CARD_DIR OUT.gguf")
    card, out = sys.argv[1], sys.argv[2]
    cfg = json.load(open(os.path.join(card, "config.json")))
    tok = json.load(open(os.path.join(card, "tokenizer.json")))
    arch = {"qwen2": "qwen2", "llama": "llama"}.get(cfg["model_type"])
    if arch is None:
        sys.exit(f"make_peer_gguf: model_type {cfg['model_type']!r} is not supported (qwen2, llama)")

    hidden, inter = cfg["hidden_size"], cfg["intermediate_size"]
    heads, kv_heads = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    head_dim = cfg.get("head_dim", hidden // heads)
    layers, vocab = cfg["num_hidden_layers"], cfg["vocab_size"]

    w = Writer()
    w.add("general.architecture", T_STR, arch)
    w.add("general.name", T_STR, os.path.basename(os.path.normpath(card)) + " (random BF16)")
    w.add("general.file_type", T_U32, FILE_TYPE_BF16)
    w.add("general.alignment", T_U32, ALIGN)
    w.add(f"{arch}.block_count", T_U32, layers)
    w.add(f"{arch}.context_length", T_U32, min(cfg.get("max_position_embeddings", 4096), 32768))
    w.add(f"{arch}.embedding_length", T_U32, hidden)
    w.add(f"{arch}.feed_forward_length", T_U32, inter)
    w.add(f"{arch}.attention.head_count", T_U32, heads)
    w.add(f"{arch}.attention.head_count_kv", T_U32, kv_heads)
    w.add(f"{arch}.rope.freq_base", T_F32, float(cfg.get("rope_theta", 10000.0)))
    w.add(f"{arch}.attention.layer_norm_rms_epsilon", T_F32, float(cfg.get("rms_norm_eps", 1e-6)))

    # vocabulary padded to the embedding rows, as HF's conversion does
    tokens = [f"[PAD{i}]" for i in range(vocab)]
    types = [1] * vocab  # normal
    for piece, i in tok["model"]["vocab"].items():
        if i < vocab:
            tokens[i] = piece
    for added in tok.get("added_tokens", []):
        if added["id"] < vocab:
            tokens[added["id"]] = added["content"]
            types[added["id"]] = 3 if added.get("special") else 4  # control / user-defined
    for i, t in enumerate(tokens):
        if t.startswith("[PAD"):
            types[i] = 5  # unused
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"].get("merges", [])]
    w.add("tokenizer.ggml.model", T_STR, "gpt2")
    w.add("tokenizer.ggml.pre", T_STR, "qwen2" if arch == "qwen2" else "llama-bpe")
    w.add_array("tokenizer.ggml.tokens", T_STR, tokens)
    w.add_array("tokenizer.ggml.token_type", T_I32, types)
    w.add_array("tokenizer.ggml.merges", T_STR, merges)
    eos = cfg.get("eos_token_id", 0)
    w.add("tokenizer.ggml.eos_token_id", T_U32, eos[0] if isinstance(eos, list) else eos)
    w.add("tokenizer.ggml.bos_token_id", T_U32, cfg.get("bos_token_id") or 0)

    bias = arch == "qwen2"
    w.tensor("token_embd.weight", [vocab, hidden], GGML_BF16)
    w.tensor("output_norm.weight", [hidden], GGML_F32)
    if not cfg.get("tie_word_embeddings", False):
        w.tensor("output.weight", [vocab, hidden], GGML_BF16)
    for i in range(layers):
        p = f"blk.{i}."
        w.tensor(p + "attn_norm.weight", [hidden], GGML_F32)
        for name, rows in (("attn_q", heads * head_dim), ("attn_k", kv_heads * head_dim),
                           ("attn_v", kv_heads * head_dim)):
            w.tensor(p + name + ".weight", [rows, hidden], GGML_BF16)
            if bias:
                w.tensor(p + name + ".bias", [rows], GGML_F32)
        w.tensor(p + "attn_output.weight", [hidden, heads * head_dim], GGML_BF16)
        w.tensor(p + "ffn_norm.weight", [hidden], GGML_F32)
        w.tensor(p + "ffn_gate.weight", [inter, hidden], GGML_BF16)
        w.tensor(p + "ffn_up.weight", [inter, hidden], GGML_BF16)
        w.tensor(p + "ffn_down.weight", [hidden, inter], GGML_BF16)
    w.write(out)
    print(f"wrote {out}: {len(w.tensors)} tensors")


if __name__ == "__main__":
    main()
