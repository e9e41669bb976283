#!/usr/bin/env python3
"""Throughput of a running llama-server, in the shape of `ascent bench throughput`.

Why: `ascent bench throughput --batch-size N` decodes N requests per forward step.
llama-bench has no such mode; llama.cpp's server does (parallel slots with
continuous batching), so this sends the same load to it: --num-prompts requests
of --input-len random token ids, each generating exactly --output-len tokens
(ignore_eos, greedy), at most --parallel in flight. Time is measured here, from
the first request sent to the last answer, after one untimed warm-up request.

Usage (start the server with as many slots as --parallel, and room for
input-len + output-len tokens per slot):
  llama-server -m /tmp/qwen2-0.5b-bf16.gguf -t 2 -np 8 -c 2048 --port 8089 &
  tools/peer_server_throughput.py --port 8089 --parallel 8 --num-prompts 16 \\
      --input-len 32 --output-len 64
Prints one JSON object: seconds, requests_per_s, output_tokens_per_s,
total_tokens_per_s, prompt_tokens, output_tokens. Pure standard library.
"""
import argparse
import json
import random
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--parallel", type=int, default=8, help="requests in flight")
    ap.add_argument("--num-prompts", type=int, default=16)
    ap.add_argument("--input-len", type=int, default=32)
    ap.add_argument("--output-len", type=int, default=64)
    ap.add_argument("--vocab", type=int, default=150000, help="prompt ids are drawn below this")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if min(a.parallel, a.num_prompts, a.input_len, a.output_len) < 1:
        sys.exit("peer_server_throughput: every count must be at least 1")

    rng = random.Random(a.seed)
    prompts = [[rng.randrange(1000, a.vocab) for _ in range(a.input_len)] for _ in range(a.num_prompts)]

    def one(prompt):
        body = json.dumps({"prompt": prompt, "n_predict": a.output_len, "ignore_eos": True,
                           "cache_prompt": False, "temperature": 0}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{a.port}/completion", body,
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=3600) as r:
            j = json.load(r)
        return j["tokens_predicted"], j["tokens_evaluated"]

    try:
        one(prompts[0])
    except (urllib.error.URLError, ConnectionError) as e:
        sys.exit(f"peer_server_throughput: no llama-server answers on port {a.port}: {e}")
    t0 = time.time()
    with ThreadPoolExecutor(a.parallel) as ex:
        results = list(ex.map(one, prompts))
    seconds = time.time() - t0
    out = sum(r[0] for r in results)
    prompt = sum(r[1] for r in results)
    print(json.dumps({"seconds": seconds, "requests_per_s": a.num_prompts / seconds,
                      "output_tokens_per_s": out / seconds, "total_tokens_per_s": (out + prompt) / seconds,
                      "prompt_tokens": prompt, "output_tokens": out}))


if __name__ == "__main__":
    main()
