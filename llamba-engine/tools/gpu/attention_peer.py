#!/usr/bin/env python3
"""PyTorch's scaled_dot_product_attention on the attention shapes that `bench-gpu --attention
llama-3.2-1b` times the engine's own kernels on (Llama-3.2-1B: 32 query heads, 8 kv heads, d=64,
16 layers, bf16 cache), as a peer measured on the same GPU in the same call:

  prompt chunk   256 queries at positions 32512..32767 against keys [0, 32768), causal
  decode b=1     one query per sequence against 32769 keys
  decode b=64    64 sequences, one query each against 8193 keys

Each SDPA backend that accepts the shape is timed (CUDA events, 10 calls after a warm-up) and
scaled to 16 layers; FLOPs and bytes are counted as the engine's profile counts them.
"""
import argparse
import json

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

H, KV, D, LAYERS = 32, 8, 64, 16


def timed(fn, reps=10):
    fn()
    torch.cuda.synchronize()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    a.record()
    for _ in range(reps):
        fn()
    b.record()
    torch.cuda.synchronize()
    return a.elapsed_time(b) / reps


def backends(q, k, v, mask):
    out = {}
    for name, be in [("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION),
                     ("efficient", SDPBackend.EFFICIENT_ATTENTION), ("math", SDPBackend.MATH)]:
        try:
            with sdpa_kernel([be]):
                ms = timed(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True))
            out[name] = ms * LAYERS
        except Exception as e:  # a backend that does not take this shape or mask
            out[name] = None
            print(f"    {name}: not usable ({type(e).__name__}: {str(e).splitlines()[0][:100]})")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.manual_seed(0)
    dev, bf = "cuda", torch.bfloat16
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    res = {}

    ctx = 32768
    q = torch.randn(1, H, 256, D, device=dev, dtype=bf)
    k = torch.randn(1, KV, ctx, D, device=dev, dtype=bf)
    v = torch.randn(1, KV, ctx, D, device=dev, dtype=bf)
    pos = torch.arange(ctx - 256, ctx, device=dev)[:, None]
    mask = torch.arange(ctx, device=dev)[None, :] <= pos  # query at position p sees keys <= p
    flops = sum(4.0 * (p + 1) * H * D for p in range(ctx - 256, ctx)) * LAYERS
    print("prompt chunk of 256 queries at 32k, 16 layers:")
    t = backends(q, k, v, mask)
    for n, ms in t.items():
        if ms is not None:
            print(f"    {n}: {ms:.3f} ms = {flops / ms / 1e9:.1f} TFLOP/s")
    res["prompt_chunk_32k"] = {"ms": t, "gflop": flops / 1e9}

    for name, b, n in [("decode_b1_32k", 1, ctx + 1), ("decode_b64_8k", 64, 8193)]:
        q = torch.randn(b, H, 1, D, device=dev, dtype=bf)
        k = torch.randn(b, KV, n, D, device=dev, dtype=bf)
        v = torch.randn(b, KV, n, D, device=dev, dtype=bf)
        gb = b * n * KV * D * 2 * 2 * LAYERS / 1e9
        print(f"{name}: {b} x 1 query against {n} keys, 16 layers, {gb:.2f} GB of cache:")
        t = backends(q, k, v, None)
        for nm, ms in t.items():
            if ms is not None:
                print(f"    {nm}: {ms:.3f} ms = {gb / ms * 1e3:.0f} GB/s")
        res[name] = {"ms": t, "cache_gb": gb}
        del q, k, v
        torch.cuda.empty_cache()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
