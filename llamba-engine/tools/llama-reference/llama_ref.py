#!/usr/bin/env python3
"""A small numpy Llama-3.x reference, to cross-check Hugging Face transformers and to find engine bugs.

The fixtures the Java engine is tested against are computed by transformers' LlamaForCausalLM
(make_fixtures.py, on a machine with torch); this file is a second, independent implementation
written from the equations, all math in float64, used to:

  * write provisional fixtures where transformers is not installed (make_fixtures.py --numpy-only);
  * cross-check transformers' logits on every fixture (they must agree to ~1e-7 relative);
  * show that typical engine bugs (selftest.py: RoPE convention, llama3 frequency scaling, GQA head
    mapping, missing 1/sqrt(head_dim), wrong epsilon, ...) move the logits beyond the tolerance.

The model (Hugging Face layout, y = x·Wᵀ):

    h = embed[token]
    per layer:  h += o_proj(attention(rmsnorm(h; input_layernorm)))
                h += down(silu(gate(u)) ⊙ up(u)),   u = rmsnorm(h; post_attention_layernorm)
    logits = rmsnorm(h; norm) · headᵀ      (head = embed when tie_word_embeddings)

attention: q = q_proj(u) as H heads of d, k and v as KV heads of d (H % KV == 0, query head h uses
kv head h // (H/KV)); RoPE on q and k at the token's position p, "rotate half" convention: for
i < d/2, (x_i, x_{i+d/2}) is rotated by the angle p·inv_freq[i]; scores q·k/sqrt(d) over positions
≤ p (causal), softmax, weighted sum of v.

inv_freq[i] = theta^(-2i/d); with rope_scaling llama3 (factor f, low_freq_factor lo,
high_freq_factor hi, original_max_position_embeddings L): wavelength w = 2π/inv_freq;
w < L/hi: unchanged; w > L/lo: inv_freq/f; in between: (1-s)·inv_freq/f + s·inv_freq with
s = (L/w - lo)/(hi - lo).

CLI:  python3 llama_ref.py logits --model DIR --ids 1,2,3 [--all-positions]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass, field

import numpy as np

sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import llamba_ref as st  # noqa: E402  (safetensors reader/writer and BF16 rounding, shared with the Llamba tools)

# transformers' LlamaConfig defaults, for keys a config.json leaves out
DEFAULT_RMS_NORM_EPS = 1e-6
DEFAULT_ROPE_THETA = 10000.0
DEFAULT_MAX_POSITION_EMBEDDINGS = 2048


@dataclass
class Config:
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    rms_norm_eps: float
    rope_theta: float
    rope_type: str  # "default" or "llama3"
    rope_factor: float = 1.0
    low_freq_factor: float = 1.0
    high_freq_factor: float = 4.0
    original_max_position_embeddings: int = 8192
    max_position_embeddings: int = DEFAULT_MAX_POSITION_EMBEDDINGS
    tie_word_embeddings: bool = False
    raw: dict = field(default_factory=dict, repr=False)

    @staticmethod
    def from_dict(d: dict) -> "Config":
        if d.get("model_type") != "llama":
            raise ValueError(f"model_type {d.get('model_type')!r} is not llama")
        for key in ("attention_bias", "mlp_bias"):
            if d.get(key):
                raise ValueError(f"{key} true is not supported")
        if d.get("hidden_act", "silu") != "silu":
            raise ValueError(f"hidden_act {d.get('hidden_act')!r} unsupported")
        heads = int(d["num_attention_heads"])
        hidden = int(d["hidden_size"])
        # transformers 5 writes rope_parameters (theta inside); earlier files rope_scaling + rope_theta
        rope = d.get("rope_parameters") or d.get("rope_scaling") or {}
        theta = rope.get("rope_theta", d.get("rope_theta", DEFAULT_ROPE_THETA))
        rope_type = rope.get("rope_type", rope.get("type", "default"))
        c = Config(
            vocab_size=int(d["vocab_size"]), hidden_size=hidden, intermediate_size=int(d["intermediate_size"]),
            num_hidden_layers=int(d["num_hidden_layers"]), num_attention_heads=heads,
            num_key_value_heads=int(d.get("num_key_value_heads") or heads),
            head_dim=int(d.get("head_dim") or hidden // heads),
            rms_norm_eps=float(d.get("rms_norm_eps", DEFAULT_RMS_NORM_EPS)),
            rope_theta=float(theta), rope_type=rope_type,
            max_position_embeddings=int(d.get("max_position_embeddings", DEFAULT_MAX_POSITION_EMBEDDINGS)),
            tie_word_embeddings=bool(d.get("tie_word_embeddings", False)), raw=d)
        if rope_type == "llama3":
            c.rope_factor = float(rope["factor"])
            c.low_freq_factor = float(rope["low_freq_factor"])
            c.high_freq_factor = float(rope["high_freq_factor"])
            c.original_max_position_embeddings = int(rope["original_max_position_embeddings"])
        elif rope_type != "default":
            raise ValueError(f"rope type {rope_type!r} unsupported (default, llama3)")
        if heads % c.num_key_value_heads:
            raise ValueError("num_attention_heads must be a multiple of num_key_value_heads")
        if c.head_dim % 2:
            raise ValueError("head_dim must be even")
        return c

    @staticmethod
    def load(path: str) -> "Config":
        if os.path.isdir(path):
            path = os.path.join(path, "config.json")
        with open(path) as f:
            return Config.from_dict(json.load(f))


def expected_shapes(c: Config) -> dict:
    D, d, H, KV, I = c.hidden_size, c.head_dim, c.num_attention_heads, c.num_key_value_heads, c.intermediate_size
    s = {"model.embed_tokens.weight": (c.vocab_size, D)}
    for i in range(c.num_hidden_layers):
        p = f"model.layers.{i}."
        s[p + "input_layernorm.weight"] = (D,)
        s[p + "self_attn.q_proj.weight"] = (H * d, D)
        s[p + "self_attn.k_proj.weight"] = (KV * d, D)
        s[p + "self_attn.v_proj.weight"] = (KV * d, D)
        s[p + "self_attn.o_proj.weight"] = (D, H * d)
        s[p + "post_attention_layernorm.weight"] = (D,)
        s[p + "mlp.gate_proj.weight"] = (I, D)
        s[p + "mlp.up_proj.weight"] = (I, D)
        s[p + "mlp.down_proj.weight"] = (D, I)
    s["model.norm.weight"] = (D,)
    if not c.tie_word_embeddings:
        s["lm_head.weight"] = (c.vocab_size, D)
    return s


def inv_freq(c: Config, llama3_scaling=True, smooth=True) -> np.ndarray:
    d = c.head_dim
    f = 1.0 / c.rope_theta ** (np.arange(0, d, 2, dtype=np.float64) / d)
    if c.rope_type != "llama3" or not llama3_scaling:
        return f
    wavelen = 2 * math.pi / f
    low_wavelen = c.original_max_position_embeddings / c.low_freq_factor
    high_wavelen = c.original_max_position_embeddings / c.high_freq_factor
    out = np.where(wavelen > low_wavelen, f / c.rope_factor, f)
    if smooth:
        s = (c.original_max_position_embeddings / wavelen - c.low_freq_factor) / (c.high_freq_factor - c.low_freq_factor)
        medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen)
        out = np.where(medium, (1 - s) * f / c.rope_factor + s * f, out)
    return out


def rmsnorm(x, w, eps):
    return w * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps))


def silu(v):
    return v / (1.0 + np.exp(-v))


# Deliberate bugs for selftest.py: each names one mistake an engine could make.
BUGS = ("interleaved_rope", "no_llama3_scaling", "no_llama3_smoothing", "kv_head_modulo", "no_score_scale",
        "key_position_off_by_one", "chunk_relative_positions", "eps_1e-5", "no_rope_on_k", "head_from_embedding", "not_causal")


class Model:
    def __init__(self, cfg: Config, tensors: dict, dtype=np.float64, bug: str | None = None):
        self.cfg, self.dtype, self.bug = cfg, dtype, bug
        want = expected_shapes(cfg)
        for n, shape in want.items():
            if n not in tensors:
                raise ValueError(f"missing tensor {n}")
            if tuple(tensors[n].shape) != shape:
                raise ValueError(f"tensor {n} has shape {tensors[n].shape}, expected {shape}")
        extra = set(tensors) - set(want)
        if extra:
            raise ValueError(f"unexpected tensors {sorted(extra)[:4]}")
        self.w = {n: np.asarray(a, dtype=dtype) for n, a in tensors.items()}
        self.embed = self.w["model.embed_tokens.weight"]
        tie = cfg.tie_word_embeddings or bug == "head_from_embedding"
        self.head = self.embed if tie else self.w["lm_head.weight"]
        self.inv_freq = inv_freq(cfg, llama3_scaling=bug != "no_llama3_scaling", smooth=bug != "no_llama3_smoothing")
        self.eps = 1e-5 if bug == "eps_1e-5" else cfg.rms_norm_eps

    @staticmethod
    def load(model_dir: str, dtype=np.float64, bug=None) -> "Model":
        return Model(Config.load(model_dir), st.read_checkpoint(model_dir), dtype, bug)

    def new_cache(self):
        """Per layer: keys and values of the positions seen so far, (positions, KV heads, head_dim)."""
        c = self.cfg
        return [(np.zeros((0, c.num_key_value_heads, c.head_dim), self.dtype),
                 np.zeros((0, c.num_key_value_heads, c.head_dim), self.dtype)) for _ in range(c.num_hidden_layers)]

    def rope(self, x, positions):
        """x: (L, heads, d), rotated at each row's position."""
        d = self.cfg.head_dim
        pos = np.asarray(positions, dtype=np.float64)
        ang = pos[:, None] * self.inv_freq[None, :]
        cos, sin = np.cos(ang)[:, None, :].astype(self.dtype), np.sin(ang)[:, None, :].astype(self.dtype)
        if self.bug == "interleaved_rope":  # pairs (2i, 2i+1): Meta's layout, wrong for HF checkpoints
            a, b = x[..., 0::2], x[..., 1::2]
            out = np.empty_like(x)
            out[..., 0::2] = a * cos - b * sin
            out[..., 1::2] = a * sin + b * cos
            return out
        a, b = x[..., : d // 2], x[..., d // 2:]
        return np.concatenate([a * cos - b * sin, b * cos + a * sin], axis=-1)

    def forward(self, ids, cache=None):
        """Feeds ids after what `cache` holds; returns (logits per position, new cache)."""
        c = self.cfg
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= c.vocab_size):
            raise ValueError("token id outside the vocabulary")
        cache = self.new_cache() if cache is None else cache
        start = cache[0][0].shape[0]
        L, H, KV, d = len(ids), c.num_attention_heads, c.num_key_value_heads, c.head_dim
        pos = np.arange(start, start + L)
        x = self.embed[ids].copy()
        new_cache = []
        for i in range(c.num_hidden_layers):
            p = f"model.layers.{i}."
            u = rmsnorm(x, self.w[p + "input_layernorm.weight"], self.eps)
            q = (u @ self.w[p + "self_attn.q_proj.weight"].T).reshape(L, H, d)
            k = (u @ self.w[p + "self_attn.k_proj.weight"].T).reshape(L, KV, d)
            v = (u @ self.w[p + "self_attn.v_proj.weight"].T).reshape(L, KV, d)
            rope_pos = pos - start if self.bug == "chunk_relative_positions" else pos
            q = self.rope(q, rope_pos)
            if self.bug == "key_position_off_by_one":
                k = self.rope(k, rope_pos + 1)
            elif self.bug != "no_rope_on_k":
                k = self.rope(k, rope_pos)
            K = np.concatenate([cache[i][0], k])
            V = np.concatenate([cache[i][1], v])
            new_cache.append((K, V))
            scale = 1.0 if self.bug == "no_score_scale" else 1.0 / math.sqrt(d)
            keypos = np.arange(start + L)
            mask = keypos[None, :] > pos[:, None]  # (L, start+L): future positions
            out = np.empty((L, H, d), self.dtype)
            for h in range(H):
                g = h % KV if self.bug == "kv_head_modulo" else h // (H // KV)
                s = (q[:, h, :] @ K[:, g, :].T) * scale
                if self.bug != "not_causal":
                    s = np.where(mask, -np.inf, s)
                s = np.exp(s - s.max(axis=1, keepdims=True))
                s /= s.sum(axis=1, keepdims=True)
                out[:, h, :] = s @ V[:, g, :]
            x = x + out.reshape(L, H * d) @ self.w[p + "self_attn.o_proj.weight"].T
            u = rmsnorm(x, self.w[p + "post_attention_layernorm.weight"], self.eps)
            gate = u @ self.w[p + "mlp.gate_proj.weight"].T
            up = u @ self.w[p + "mlp.up_proj.weight"].T
            x = x + (silu(gate) * up) @ self.w[p + "mlp.down_proj.weight"].T
        logits = rmsnorm(x, self.w["model.norm.weight"], self.eps) @ self.head.T
        return logits, new_cache

    def forward_chunks(self, ids, chunk, cache=None):
        """The prompt in runs of `chunk` tokens (what chunked prefill does)."""
        rows = []
        for i in range(0, len(ids), chunk):
            lg, cache = self.forward(ids[i:i + chunk], cache)
            rows.append(lg)
        return np.concatenate(rows), cache

    def forward_steps(self, ids, cache=None):
        """One token at a time through the cache (what decoding does)."""
        rows = []
        for t in ids:
            lg, cache = self.forward([t], cache)
            rows.append(lg[0])
        return np.array(rows), cache


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    lg = sub.add_parser("logits", help="print logits of a token sequence as JSON")
    lg.add_argument("--model", required=True, help="checkpoint directory (config.json + safetensors)")
    lg.add_argument("--ids", required=True, help="comma-separated token ids")
    lg.add_argument("--all-positions", action="store_true", help="one row per position, not only the last")
    lg.add_argument("--digits", type=int, default=9, help="significant digits printed")
    args = ap.parse_args(argv)
    try:
        ids = [int(t) for t in args.ids.split(",") if t.strip()]
    except ValueError:
        ap.error("--ids must be comma-separated integers")
    if not ids:
        ap.error("--ids is empty")
    try:
        logits, _ = Model.load(args.model).forward(ids)
    except (OSError, ValueError, KeyError) as e:
        print(f"llama_ref logits: {e}", file=sys.stderr)
        return 1
    rows = logits if args.all_positions else logits[-1:]
    fmt = "{:.%dg}" % args.digits
    sys.stdout.write('{"logits": [' + ", ".join(
        "[" + ", ".join(fmt.format(float(v)) for v in r) + "]" for r in rows) + "]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
