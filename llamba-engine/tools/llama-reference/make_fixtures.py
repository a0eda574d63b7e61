#!/usr/bin/env python3
"""Writes small random Llama checkpoints and the logits Hugging Face transformers' LlamaForCausalLM
gives for them into llamba-engine/src/test/resources/llama-fixtures/<name>/.

    python3 llamba-engine/tools/llama-reference/make_fixtures.py [--out DIR] [--numpy-only]

Needs torch and transformers (the GPU machine has them; CPU is enough). Weights are drawn with numpy
from fixed seeds and written in Hugging Face's safetensors layout, by our writer or, for one fixture,
by transformers' own save_pretrained (sharded, with the config.json transformers writes). The
expected logits come from LlamaForCausalLM.from_pretrained(dir) in float64 with eager attention,
from the files as stored (BF16/F16 weights upcast exactly). Each fixture is also checked against
llama_ref.py (an independent numpy float64 implementation) and run by transformers in float32 to
show how much of the tolerance a float32 engine needs.

--numpy-only writes the same checkpoints with logits from llama_ref.py instead (no torch needed),
marked as provisional in expected.json; selftest.py refuses those as committed fixtures.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import llama_ref as ref  # noqa: E402

st = ref.st
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "..", "src", "test", "resources", "llama-fixtures"))

TOLERANCE = {"rel_to_max_abs": 1e-4, "abs": 1e-5,
             "rule": "per position: max_j |engine[j] - expected[j]| <= rel_to_max_abs * max_j |expected[j]| + abs"}
NUMPY_AGREE = 1e-5  # transformers (float64, but RMSNorm and RoPE angles in float32) vs llama_ref, relative to max|logit|

COMMON = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_act": "silu",
          "attention_bias": False, "mlp_bias": False}

# config.json contents (keys left out on purpose exercise the defaults: rms_norm_eps 1e-6,
# tie_word_embeddings false, rope_theta 10000, num_key_value_heads = num_attention_heads).
CONFIGS = {
    # GQA 4 heads on 2 kv heads, tied head, llama3 rope scaling with original context 32: the long
    # sequence (300) runs far beyond it, and head_dim 12 puts one frequency in each regime
    # (wavelengths 6.3 | 29 | 135, 628, ... against the 8..32 band).
    "gqa": {**COMMON, "vocab_size": 131, "hidden_size": 48, "intermediate_size": 96, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
            "rope_scaling": {"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                             "original_max_position_embeddings": 32},
            "max_position_embeddings": 512, "tie_word_embeddings": True},
    # One kv head for 4 query heads; head_dim 16 given explicitly (hidden/heads would be 10); untied
    # (tie_word_embeddings absent); rms_norm_eps absent (1e-6); legacy "type" key; theta 1000.
    "mqa": {**COMMON, "vocab_size": 97, "hidden_size": 40, "intermediate_size": 88, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 16, "rope_theta": 1000.0,
            "rope_scaling": {"type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 2.0,
                             "original_max_position_embeddings": 16},
            "max_position_embeddings": 400},
    # Plain multi-head attention (num_key_value_heads absent), default RoPE (theta absent), 3 layers,
    # tied; written by transformers' save_pretrained, so config.json is what transformers 5 writes.
    "mha": {**COMMON, "vocab_size": 113, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3,
            "num_attention_heads": 4, "rms_norm_eps": 1e-5, "max_position_embeddings": 320,
            "tie_word_embeddings": True},
}

# (fixture name, config name, dtype, seed, writer): writer "ours" or "hf" (save_pretrained, sharded)
FIXTURES = [
    ("gqa-f32", "gqa", "F32", 11, "ours"),
    ("gqa-bf16", "gqa", "BF16", 11, "ours"),
    ("mqa-untied-bf16", "mqa", "BF16", 22, "ours"),
    ("mha-hf-sharded-f16", "mha", "F16", 33, "hf"),
]

RESID_RMS = 0.04  # rms of embedding rows: small, like Llama's, so rms_norm_eps visibly matters
LOGIT_STD = 2.5
LONG = 300  # the long sequence: beyond original_max_position_embeddings, and across 256-token passes


def make_weights(cfg: ref.Config, seed: int):
    """float32 weights. Scales: residual rms ~RESID_RMS, attention scores of std ~2 (so attention is
    peaked and positions matter), logits of std ~LOGIT_STD."""
    rng = np.random.default_rng(seed)
    D, d, H, KV, I, V = (cfg.hidden_size, cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads,
                         cfg.intermediate_size, cfg.vocab_size)
    f = lambda *s: rng.standard_normal(s)  # noqa: E731
    k_res = RESID_RMS * np.sqrt(D) / LOGIT_STD
    out = [("model.embed_tokens.weight", RESID_RMS * f(V, D))]
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        out.append((p + "input_layernorm.weight", 1.0 + 0.1 * f(D)))
        out.append((p + "self_attn.q_proj.weight", 1.5 / np.sqrt(D) * f(H * d, D)))
        out.append((p + "self_attn.k_proj.weight", 1.3 / np.sqrt(D) * f(KV * d, D)))
        out.append((p + "self_attn.v_proj.weight", 1.0 / np.sqrt(D) * f(KV * d, D)))
        out.append((p + "self_attn.o_proj.weight", 1.2 * RESID_RMS / np.sqrt(H * d) * f(D, H * d)))
        out.append((p + "post_attention_layernorm.weight", 1.0 + 0.1 * f(D)))
        out.append((p + "mlp.gate_proj.weight", 1.0 / np.sqrt(D) * f(I, D)))
        out.append((p + "mlp.up_proj.weight", 1.0 / np.sqrt(D) * f(I, D)))
        out.append((p + "mlp.down_proj.weight", 1.5 * RESID_RMS / np.sqrt(I) * f(D, I)))
    norm = 1.0 + 0.1 * f(D)
    if cfg.tie_word_embeddings:
        norm /= k_res  # the head rows are the small embedding rows
    out.append(("model.norm.weight", norm))
    if not cfg.tie_word_embeddings:
        out.append(("lm_head.weight", LOGIT_STD / np.sqrt(D) * f(V, D)))
    want = ref.expected_shapes(cfg)
    assert set(n for n, _ in out) == set(want)
    for n, a in out:
        assert a.shape == want[n], (n, a.shape, want[n])
    return [(n, np.asarray(a, dtype=np.float32)) for n, a in out]


def make_sequences(cfg: ref.Config, seed: int):
    """(ids, stored positions or None for all): lengths 1, 9, 40 and LONG."""
    rng = np.random.default_rng(seed + 77)
    V = cfg.vocab_size
    s1 = [V - 1]
    s2 = [0] + [int(t) for t in rng.integers(1, V - 1, size=7)] + [V - 1]
    s3 = [int(t) for t in rng.integers(0, V, size=40)]
    s3[5], s3[17], s3[30] = 0, V - 1, 0
    s3[31] = s3[30]  # a repeated token
    s4 = [int(t) for t in rng.integers(0, V, size=LONG)]
    orig = cfg.original_max_position_embeddings if cfg.rope_type == "llama3" else 32
    keep = set(range(0, LONG, 10)) | {orig - 1, orig, orig + 1, 255, 256, 257, LONG - 2, LONG - 1}
    return [(s1, None), (s2, None), (s3, None), (s4, sorted(p for p in keep if p < LONG))]


def r9(v: float) -> float:
    x = float("%.9g" % v)
    return 0.0 if x == 0 else x


def tolerance_used(expected, got) -> float:
    """max over positions of max_j |got - expected| / (rel * max|expected| + abs); <= 1 passes."""
    e, g = np.asarray(expected, dtype=np.float64), np.asarray(got, dtype=np.float64)
    allowed = TOLERANCE["rel_to_max_abs"] * np.abs(e).max(axis=-1) + TOLERANCE["abs"]
    return float((np.abs(g - e).max(axis=-1) / allowed).max())


def rel_diff(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(1.0, np.abs(a).max()))


# ----------------------------------------------------------------------------------------------
# transformers


class HF:
    def __init__(self):
        import torch
        import transformers
        self.torch, self.tf = torch, transformers
        self.version = f"transformers {transformers.__version__}, torch {torch.__version__}"

    def save(self, d, cfg_dict, weights, dtype, shard_bytes):
        """save_pretrained of a LlamaForCausalLM holding `weights` (already rounded to dtype)."""
        torch = self.torch
        config = self.tf.LlamaConfig(**{k: v for k, v in cfg_dict.items() if k not in ("model_type", "architectures")})
        model = self.tf.LlamaForCausalLM(config)
        sd = {n: torch.from_numpy(np.array(a, dtype=np.float32)) for n, a in weights}
        if config.tie_word_embeddings:
            sd["lm_head.weight"] = sd["model.embed_tokens.weight"]
        missing, unexpected = model.load_state_dict(sd, strict=False)
        if unexpected or [m for m in missing if "rotary" not in m]:
            raise RuntimeError(f"load_state_dict: missing {missing}, unexpected {unexpected}")
        tdt = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}[dtype]
        model = model.to(tdt)
        model.save_pretrained(d, max_shard_size=shard_bytes)

    def load(self, d, dtype):
        torch = self.torch
        tdt = {"f64": torch.float64, "f32": torch.float32}[dtype]
        try:
            m = self.tf.LlamaForCausalLM.from_pretrained(d, dtype=tdt, attn_implementation="eager")
        except TypeError:
            m = self.tf.LlamaForCausalLM.from_pretrained(d, torch_dtype=tdt, attn_implementation="eager")
        return m.eval()

    def logits(self, model, ids):
        torch = self.torch
        with torch.no_grad():
            out = model(input_ids=torch.tensor([ids], dtype=torch.long), use_cache=False)
        return out.logits[0].to(torch.float64).numpy()

    def check_config(self, model, cfg: ref.Config):
        """transformers reads config.json as llama_ref does: sizes, defaults, tying, RoPE frequencies."""
        torch = self.torch
        hc = model.config
        problems = []
        head_dim = getattr(hc, "head_dim", None) or hc.hidden_size // hc.num_attention_heads
        for name, want, got in (("head_dim", cfg.head_dim, head_dim),
                                ("num_key_value_heads", cfg.num_key_value_heads, hc.num_key_value_heads),
                                ("rms_norm_eps", cfg.rms_norm_eps, hc.rms_norm_eps),
                                ("tie_word_embeddings", cfg.tie_word_embeddings, bool(hc.tie_word_embeddings))):
            if want != got:
                problems.append(f"{name}: llama_ref {want}, transformers {got}")
        tied = model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr() or torch.equal(
            model.lm_head.weight, model.model.embed_tokens.weight)
        if tied != cfg.tie_word_embeddings:
            problems.append(f"lm_head tied to the embedding: {tied}, llama_ref says {cfg.tie_word_embeddings}")
        inv = model.model.rotary_emb.inv_freq.to(torch.float64).numpy()
        want = ref.inv_freq(cfg)
        if inv.shape != want.shape or np.abs(inv - want).max() > 1e-6 * np.abs(want).max():
            problems.append(f"inv_freq: llama_ref {want.tolist()}, transformers {inv.tolist()}")
        scaling = getattr(model.model.rotary_emb, "attention_scaling", 1.0)
        if scaling != 1.0:
            problems.append(f"rotary attention_scaling {scaling} (llama_ref assumes 1)")
        return problems


# ----------------------------------------------------------------------------------------------


def write_fixture(out_dir, name, cfg_name, dtype, seed, writer, hf: HF | None, log):
    cfg_dict = CONFIGS[cfg_name]
    cfg = ref.Config.from_dict(cfg_dict)
    d = os.path.join(out_dir, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    weights = make_weights(cfg, seed)
    stored = [(n, st.round_to_dtype(a, dtype)) for n, a in weights]
    used_writer = "ours"
    if writer == "hf" and hf is not None:
        try:
            total = sum(a.size for _, a in stored) * 2
            hf.save(d, cfg_dict, stored, dtype, total // 3 + 1024)
            used_writer = "transformers save_pretrained"
            for extra in ("generation_config.json",):
                if os.path.exists(os.path.join(d, extra)):
                    os.remove(os.path.join(d, extra))
        except Exception:  # noqa: BLE001  keep going: one run must give every answer it can
            log("  save_pretrained failed, writing with our writer instead:\n" + traceback.format_exc())
            shutil.rmtree(d)
            os.makedirs(d)
    if used_writer == "ours":
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg_dict, f, indent=2)
            f.write("\n")
        tensors = [(n, a, dtype) for n, a in stored]
        if writer == "hf":
            st.write_sharded(d, tensors, 3, {"format": "pt"})
        else:
            st.write_safetensors(os.path.join(d, "model.safetensors"), tensors, {"format": "pt"})

    # Everything below reads the files back, as an engine would.
    cfg = ref.Config.load(d)
    tensors, dtypes = st.read_checkpoint(d, with_dtypes=True)
    if set(dtypes.values()) != {dtype}:
        raise AssertionError(f"{name}: stored dtypes {set(dtypes.values())}, expected {dtype}")
    for n, a in stored:
        if not np.array_equal(tensors[n], a):
            raise AssertionError(f"{name}: tensor {n} does not read back as written")
    model = ref.Model(cfg, tensors)
    seqs = make_sequences(cfg, seed)
    np_logits, forms = [], 0.0
    for ids, _ in seqs:
        full, _ = model.forward(ids)
        if len(ids) <= 40:
            forms = max(forms, rel_diff(full, model.forward_steps(ids)[0]))
        if len(ids) >= 2:
            half, cache = model.forward(ids[: len(ids) // 2])
            rest, _ = model.forward(ids[len(ids) // 2:], cache)
            forms = max(forms, rel_diff(full, np.concatenate([half, rest])))
        np_logits.append(full)
    if forms > 1e-10:
        raise AssertionError(f"{name}: llama_ref prefill and step-by-step disagree by {forms:.1e}")

    notes = {}
    if hf is not None:
        m64 = hf.load(d, "f64")
        problems = hf.check_config(m64, cfg)
        for p in problems:
            log(f"  CONFIG MISMATCH {name}: {p}")
        expected = [hf.logits(m64, ids) for ids, _ in seqs]
        agree = max(rel_diff(e, n) for e, n in zip(expected, np_logits))
        m32 = hf.load(d, "f32")
        margin = max(tolerance_used(e, hf.logits(m32, ids)) for e, (ids, _) in zip(expected, seqs))
        reference = f"{hf.version}: LlamaForCausalLM.from_pretrained(dtype=float64, attn_implementation=eager)"
        notes = {"llama_ref_agreement": float("%.2g" % agree), "transformers_float32_tolerance_used": float("%.2g" % margin)}
        status = "ok" if agree <= NUMPY_AGREE and not problems else "DISAGREE"
        log(f"  transformers vs llama_ref: {agree:.1e} relative ({status}); transformers float32 uses "
            f"{margin:.1%} of the tolerance")
    else:
        expected = np_logits
        reference = "PROVISIONAL: llama_ref.py numpy float64 (regenerate with transformers)"
    m32np = ref.Model(cfg, tensors, dtype=np.float32)
    np32 = max(tolerance_used(e, m32np.forward(ids)[0]) for e, (ids, _) in zip(expected, seqs))

    lines = ['{',
             f'  "fixture": {json.dumps(name)},',
             f'  "config_name": {json.dumps(cfg_name)},',
             f'  "dtype": {json.dumps(dtype)},',
             f'  "vocab_size": {cfg.vocab_size},',
             f'  "writer": {json.dumps(used_writer)},',
             f'  "reference": {json.dumps(reference)},',
             f'  "checks": {json.dumps({**notes, "llama_ref_float32_tolerance_used": float("%.2g" % np32)})},',
             f'  "tolerance": {json.dumps(TOLERANCE)},',
             '  "sequences": [']
    for si, ((ids, positions), logits) in enumerate(zip(seqs, expected)):
        rows = range(len(ids)) if positions is None else positions
        lines.append('    {"ids": [' + ", ".join(str(t) for t in ids) + '],')
        if positions is not None:
            lines.append('     "positions": [' + ", ".join(str(p) for p in positions) + '],')
        lines.append('     "logits": [')
        lines.append(",\n".join("      [" + ", ".join(repr(r9(float(v))) for v in logits[p]) + "]" for p in rows))
        lines.append('     ]}' + ("," if si < len(seqs) - 1 else ""))
    lines += ['  ]', '}']
    text = "\n".join(lines) + "\n"
    parsed = json.loads(text)
    for (ids, positions), logits, s in zip(seqs, expected, parsed["sequences"]):
        rows = list(range(len(ids))) if positions is None else positions
        assert s["ids"] == ids and np.abs(np.array(s["logits"]) - logits[rows]).max() <= 1e-8 * max(1, np.abs(logits).max())
    with open(os.path.join(d, "expected.json"), "w") as f:
        f.write(text)
    size = sum(os.path.getsize(os.path.join(d, x)) for x in os.listdir(d))
    mx = max(float(np.abs(e).max()) for e in expected)
    sd = float(np.mean([np.std(e) for e in expected]))
    log(f"{name:20s} {dtype:5s} V={cfg.vocab_size} D={cfg.hidden_size} H={cfg.num_attention_heads} "
        f"KV={cfg.num_key_value_heads} d={cfg.head_dim} L={cfg.num_hidden_layers} rope={cfg.rope_type} "
        f"tied={cfg.tie_word_embeddings} writer={used_writer} | max|logit| {mx:.2f} std {sd:.2f} | "
        f"float32 llama_ref uses {np32:.1%} of tolerance | {size / 1024:.0f} KiB")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT, help="fixtures directory (default: %(default)s)")
    ap.add_argument("--numpy-only", action="store_true", help="provisional logits from llama_ref.py, no torch")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    def log(msg):
        print(msg, flush=True)

    hf = None
    if not args.numpy_only:
        hf = HF()
        log(hf.version)
    failed = 0
    for fx in FIXTURES:
        try:
            write_fixture(args.out, *fx, hf=hf, log=log)
        except Exception:  # noqa: BLE001
            failed += 1
            log(f"{fx[0]}: FAILED\n" + traceback.format_exc())
    total = 0
    for root, _, files in os.walk(args.out):
        total += sum(os.path.getsize(os.path.join(root, x)) for x in files)
    log(f"total {total / 1024:.0f} KiB in {args.out}; {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
