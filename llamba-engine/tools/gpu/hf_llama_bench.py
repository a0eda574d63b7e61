#!/usr/bin/env python3
"""Hugging Face transformers' LlamaForCausalLM with a Llama-3.2-1B configuration and random bf16
weights, generating greedily with its fastest settings, for the side-by-side of bench-gpu.

For each batch size it tries, in order, and keeps the fastest that works:
  static cache + torch.compile (mode "default", through generate's compile_config),
  static cache + torch.compile of the forward by hand (mode "default"),
  static cache without compilation, dynamic cache.
("reduce-overhead" was seen failing with a CUDA-graph error in transformers 5.17.)
Throughput = batch x new tokens / wall time of one generate() after a warm-up generate().
With --ours FILE (bench-gpu --json) it prints the side-by-side table last.
"""
import argparse
import json
import sys
import time
import traceback

import torch
import transformers
from transformers import LlamaConfig, LlamaForCausalLM


def llama_3_2_1b():
    return LlamaConfig(
        vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
        num_attention_heads=32, num_key_value_heads=8, head_dim=64, hidden_act="silu",
        max_position_embeddings=131072, rms_norm_eps=1e-5, rope_theta=500000.0,
        rope_scaling={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
        tie_word_embeddings=True, bos_token_id=128000, eos_token_id=128001, pad_token_id=128004)


def compile_config(mode):
    try:
        from transformers import CompileConfig
    except ImportError:
        from transformers.generation.configuration_utils import CompileConfig
    return CompileConfig(mode=mode)


def timed_generate(model, ids, new_tokens, **kw):
    mask = torch.ones_like(ids)
    args = dict(attention_mask=mask, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False,
                pad_token_id=128004, **kw)
    model.generate(ids, **args)  # warm-up: compilation, cache allocation
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = model.generate(ids, **args)
    torch.cuda.synchronize()
    sec = time.perf_counter() - t0
    generated = out.shape[1] - ids.shape[1]
    assert generated == new_tokens, f"generated {generated} tokens, asked {new_tokens}"
    return ids.shape[0] * new_tokens / sec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,64")
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--prompt", type=int, default=16)
    ap.add_argument("--ours", help="bench-gpu --json output, for the side-by-side")
    ap.add_argument("--json", help="write the figures here")
    a = ap.parse_args()

    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.cuda.get_device_name(0)}", flush=True)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = LlamaForCausalLM(llama_3_2_1b()).to(torch.bfloat16)
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    print(f"LlamaForCausalLM, Llama-3.2-1B configuration, random bf16 weights: {params / 1e9:.2f} B parameters", flush=True)

    results = {}
    for b in [int(x) for x in a.batches.split(",")]:
        ids = torch.randint(0, 128000, (b, a.prompt), device="cuda")
        tries = [
            ("static cache + torch.compile(mode=default) via compile_config",
             lambda: timed_generate(model, ids, a.new_tokens, cache_implementation="static",
                                    compile_config=compile_config("default"))),
            ("static cache + torch.compile(model.forward, mode=default)", None),
            ("static cache, eager", lambda: timed_generate(model, ids, a.new_tokens, cache_implementation="static",
                                                           disable_compile=True)),
            ("dynamic cache, eager", lambda: timed_generate(model, ids, a.new_tokens)),
        ]
        best = None
        for name, fn in tries:
            if fn is None:
                if best is not None:
                    continue  # only when the built-in compilation failed
                original = model.forward
                compiled = torch.compile(original, mode="default")

                def fn(compiled=compiled):
                    model.forward = compiled
                    try:
                        return timed_generate(model, ids, a.new_tokens, cache_implementation="static", disable_compile=True)
                    finally:
                        model.forward = original
            try:
                tps = fn()
                print(f"batch {b:4d}: {tps:10.1f} tok/s  {name}", flush=True)
                if best is None or tps > best[1]:
                    best = (name, tps)
                if name.startswith("static cache + torch.compile"):
                    break  # the fastest kind worked; the slower ones need not run
            except Exception as e:
                print(f"batch {b:4d}: failed: {name}: {type(e).__name__}: {str(e).splitlines()[0][:200]}", flush=True)
                traceback.print_exc(limit=2, file=sys.stdout)
        results[str(b)] = {"tok_s": best[1], "setting": best[0]} if best else None

    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f)
    if a.ours:
        with open(a.ours) as f:
            ours = json.load(f)
        rows = ours.get("llamba-1b", {}).get("decode_f32_state", {})
        print()
        print("== side by side: decode tok/s, same GPU, same run ==")
        print(f"{'batch':>6} {'Llamba-1B (ours)':>18} {'HF Llama-3.2-1B':>18} {'ratio':>8}")
        for b, hf in results.items():
            mine = rows.get(b, {}).get("tok_s")
            if hf is None or mine is None:
                print(f"{b:>6} {mine if mine else '-':>18} {hf['tok_s'] if hf else 'failed':>18}")
                continue
            print(f"{b:>6} {mine:18.1f} {hf['tok_s']:18.1f} {mine / hf['tok_s']:7.1f}x   ({hf['setting']})")


if __name__ == "__main__":
    main()
