#!/usr/bin/env python3
"""Writes the tiny random Llamba checkpoints and the logits they must give into
llamba-engine/src/test/resources/fixtures/<name>/ (deterministic: fixed seeds, fixed output format).

    python3 llamba-engine/tools/reference/make_fixtures.py [--out DIR] [--check-only]

Each fixture: config.json, model.safetensors (or model.safetensors.index.json + shards) and
expected.json. Expected logits are computed by llamba_ref from the weights AS STORED (read back
from the written files), in float64, and cross-checked between the recurrent and the parallel
forms (plain and chunked), and against "prefill k tokens, then step the rest".
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llamba_ref as ref  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "..", "src", "test", "resources", "fixtures"))

TOLERANCE = {"rel_to_max_abs": 1e-4, "abs": 1e-5,
             "rule": "per position: max_j |engine[j] - expected[j]| <= rel_to_max_abs * max_j |expected[j]| + abs"}
STATE_TOLERANCE = 1e-4  # final_state: |d sum| <= 1e-4*sqrt(n*sumsq) + 1e-5 (same for the partial sums);
#                         |d sumsq| <= 1e-4*sumsq + 1e-5
AGREE = 1e-10  # forms must agree to this, relative to max(1, max|logit|)

# Config dicts exactly as written to config.json (some keys omitted on purpose to exercise defaults).
CONFIGS = {
    # Defaults exercised: pad_vocab_size_multiple, norm_epsilon, ssm_cfg.d_conv/expand/activation/bias.
    "base": {
        "model_type": "llamba", "vocab_size": 203, "tie_embeddings": True, "d_model": 32, "n_layer": 2,
        "mlp_cfg": {"intermediate_size": 64, "bias": False, "act_fn": "silu"},
        "ssm_cfg": {"d_state": 16, "n_v_heads": 4, "n_qk_heads": 4, "chunk_size": 16},
    },
    # H=8 heads on G=2 groups; untied head (tie_embeddings omitted -> false); d_conv 5; padding to 16.
    "grouped": {
        "model_type": "llamba", "vocab_size": 150, "pad_vocab_size_multiple": 16, "lm_head_bias": False,
        "d_model": 48, "n_layer": 2, "resid_dropout": 0.0, "norm_epsilon": 1e-5,
        "mlp_cfg": {"intermediate_size": 96, "bias": False, "act_fn": "silu"},
        "ssm_cfg": {"d_state": 8, "n_v_heads": 8, "n_qk_heads": 2, "expand": 1, "d_conv": 5, "chunk_size": 8,
                    "activation": "identity", "bias": False},
    },
    # expand 2 (Di = 64), conv activation silu, G < H, tied; d_conv omitted (4).
    "expand2-silu": {
        "model_type": "llamba", "vocab_size": 251, "tie_embeddings": True, "pad_vocab_size_multiple": 8,
        "d_model": 32, "n_layer": 2, "norm_epsilon": 1e-5,
        "mlp_cfg": {"intermediate_size": 64, "bias": False, "act_fn": "silu"},
        "ssm_cfg": {"d_state": 16, "n_v_heads": 4, "n_qk_heads": 2, "expand": 2, "chunk_size": 8,
                    "activation": "silu"},
    },
    # ssm_cfg.bias true: in_proj.bias and out_proj.bias, no z_bias; d_conv 3; untied; eps 1e-6; G = 1.
    "bias": {
        "model_type": "llamba", "vocab_size": 117, "tie_embeddings": False, "pad_vocab_size_multiple": 8,
        "lm_head_bias": False, "d_model": 40, "n_layer": 2, "norm_epsilon": 1e-6,
        "mlp_cfg": {"intermediate_size": 80, "bias": False, "act_fn": "silu"},
        "ssm_cfg": {"d_state": 12, "n_v_heads": 5, "n_qk_heads": 1, "expand": 1, "d_conv": 3, "chunk_size": 16,
                    "activation": "identity", "bias": True},
    },
    # Split over 3 shards; d_conv 2; H=8, G=4; tied; chunk_size omitted (128).
    "sharded": {
        "model_type": "llamba", "vocab_size": 299, "tie_embeddings": True, "pad_vocab_size_multiple": 8,
        "lm_head_bias": False, "d_model": 64, "n_layer": 2, "resid_dropout": 0.0, "norm_epsilon": 1e-5,
        "mlp_cfg": {"intermediate_size": 128, "bias": False, "act_fn": "silu"},
        "ssm_cfg": {"d_state": 8, "n_v_heads": 8, "n_qk_heads": 4, "expand": 1, "d_conv": 2,
                    "activation": "identity", "bias": False},
    },
}

# (fixture name, config name, dtype, seed, shards)
FIXTURES = [
    ("base-f32", "base", "F32", 1001, 1),
    ("base-bf16", "base", "BF16", 1001, 1),
    ("base-f16", "base", "F16", 1001, 1),
    ("grouped-bf16", "grouped", "BF16", 2002, 1),
    ("expand2-silu-f16", "expand2-silu", "F16", 3003, 1),
    ("bias-f32", "bias", "F32", 4004, 1),
    ("sharded-bf16", "sharded", "BF16", 5005, 3),
]

RESID_RMS = 0.04  # rms of embedding rows: small, as in Llama, so that norm_epsilon visibly matters
BIAS_CHANNEL = 3.0  # residual dimension 0 holds ~BIAS_CHANNEL * RESID_RMS (see make_weights)
LOGIT_STD = 2.5


def make_weights(cfg: ref.Config, seed: int):
    """Random float32 weights in checkpoint order. Scales keep activations O(1) and logits a few units.

    The residual stream is small (rms ~RESID_RMS, like Llama's embeddings) so that mean(x^2) is only
    a few hundred times norm_epsilon: a wrong or missing epsilon shifts the logits beyond tolerance.
    Mixer and MLP output projections are scaled to match; the final norm weight (tied head) or the
    lm_head (untied) brings the logits to std ~LOGIT_STD.

    Residual dimension 0 is a "bias channel": every embedding row has ~BIAS_CHANNEL*RESID_RMS there
    and the mixer/MLP output rows 0 are tiny, so normalized inputs carry a steady component u0 ~ 2.5.
    The in_proj `a` rows use it to give each head its own offset: softplus(a) spans ~1e-4 (slow decay)
    to ~8 (fast decay), with per-token variation on top.
    """
    rng = np.random.default_rng(seed)
    D, Di, H, G, N, K = cfg.d_model, cfg.d_inner, cfg.n_v_heads, cfg.n_qk_heads, cfg.d_state, cfg.d_conv
    C, I, V, Vr = cfg.conv_dim, cfg.intermediate_size, cfg.padded_vocab, cfg.vocab_size
    f = lambda *s: rng.standard_normal(s)  # noqa: E731

    def padded_rows(n):  # LARGE values in padded rows: an engine that reads or samples them is caught
        return rng.choice([-1.0, 1.0], size=(n, D)) * rng.uniform(40.0, 80.0, size=(n, D))

    out = []
    k_res = RESID_RMS * np.sqrt(D) / LOGIT_STD  # residual scale relative to a unit-logit embedding
    emb = RESID_RMS * f(Vr, D)
    emb[:, 0] = BIAS_CHANNEL * RESID_RMS * (1.0 + 0.1 * f(Vr))
    out.append(("backbone.embedding.weight", np.concatenate([emb, padded_rows(V - Vr)])))
    for i in range(cfg.n_layer):
        p = f"backbone.layers.{i}."
        ln = 1.0 + 0.1 * f(D)
        ln[0] = 1.0
        out.append((p + "input_layernorm.weight", ln))
        s = 1.0 / np.sqrt(D)
        w_x = 1.0 * s * f(Di, D)
        w_B = 0.45 * s * f(G * N, D)
        w_C = 0.45 * s * f(G * N, D)
        w_z = 1.0 * s * f(Di, D)
        w_a = 0.5 * s * f(H, D)
        offsets = rng.permutation(np.linspace(-6.0, 5.0, H))  # target softplus argument per head
        b_in = None
        if cfg.ssm_bias:
            b_in = 0.1 * f(cfg.in_proj_rows)
            b_in[-H:] = offsets  # the bias carries the offset itself
            w_a[:, 0] = 0.0
        else:
            w_a[:, 0] = offsets / 2.5  # u0 ~ 2.5
        w_in = np.concatenate([w_x, w_B, w_C, w_z, w_a])  # order: xBC (x, B, C), z, a
        assert w_in.shape == (cfg.in_proj_rows, D)
        out.append((p + "mixer.in_proj.weight", w_in))
        if cfg.ssm_bias:
            out.append((p + "mixer.in_proj.bias", b_in))
        else:
            out.append((p + "mixer.z_bias", 0.3 * f(Di)))
        conv = 0.4 * f(C, 1, K)
        conv[:, 0, K - 1] += 0.6  # the current token dominates a little
        out.append((p + "mixer.conv1d.weight", conv))
        out.append((p + "mixer.conv1d.bias", 0.1 * f(C)))
        out.append((p + "mixer.D", 1.0 + 0.3 * f(H)))
        w_out = 0.4 * k_res / np.sqrt(Di) * f(D, Di)
        w_out[0] *= 0.02
        out.append((p + "mixer.out_proj.weight", w_out))
        if cfg.ssm_bias:
            b_out = 0.1 * k_res * f(D)
            b_out[0] = 0.0
            out.append((p + "mixer.out_proj.bias", b_out))
        ln2 = 1.0 + 0.1 * f(D)
        ln2[0] = 1.0
        out.append((p + "post_attention_layernorm.weight", ln2))
        out.append((p + "mlp.gate_proj.weight", 1.0 / np.sqrt(D) * f(I, D)))
        out.append((p + "mlp.up_proj.weight", 1.0 / np.sqrt(D) * f(I, D)))
        w_down = 0.7 * k_res / np.sqrt(I) * f(D, I)
        w_down[0] *= 0.02
        out.append((p + "mlp.down_proj.weight", w_down))
    lnf = 1.0 + 0.1 * f(D)
    lnf[0] = 0.1  # keep the bias channel from adding a large common offset to all logits
    if cfg.tie_embeddings:
        lnf /= k_res  # the head rows are the small embedding rows
    out.append(("backbone.final_layernorm.weight", lnf))
    if not cfg.tie_embeddings:
        out.append(("lm_head.weight", np.concatenate([LOGIT_STD / np.sqrt(D) * f(Vr, D), padded_rows(V - Vr)])))
    want = ref.expected_shapes(cfg)
    assert [n for n, _ in out] == list(want) or set(n for n, _ in out) == set(want)
    for n, a in out:
        assert a.shape == want[n], (n, a.shape, want[n])
    return [(n, np.asarray(a, dtype=np.float32)) for n, a in out]


def make_sequences(cfg: ref.Config, seed: int):
    rng = np.random.default_rng(seed + 77)
    V = cfg.vocab_size
    s1 = [V - 1]
    s2 = [0] + [int(t) for t in rng.integers(1, V - 1, size=7)] + [V - 1]
    s3 = [int(t) for t in rng.integers(0, V, size=40)]
    s3[5], s3[17], s3[30] = 0, V - 1, 0
    s3[31] = s3[30]  # a repeated token
    return [s1, s2, s3]


def fmt(v: float) -> str:
    """9 significant digits (shortest form that reads back to the same double as %.9g)."""
    return repr(r9(v))


def r9(v: float) -> float:
    x = float("%.9g" % v)
    return 0.0 if x == 0 else x


def _round_floats(o):
    if isinstance(o, float):
        return r9(o)
    if isinstance(o, list):
        return [_round_floats(x) for x in o]
    if isinstance(o, dict):
        return {k: _round_floats(v) for k, v in o.items()}
    return o


def check_forms(model: ref.Model, ids):
    """Recurrent vs parallel (plain and chunked) vs prefill+step. Returns (logits, final state, max rel diff)."""
    lr, sr = model.forward_recurrent(ids)
    scale = max(1.0, float(np.abs(lr).max()))
    worst = 0.0

    def cmp(a, b, what):
        nonlocal worst
        d = float(np.abs(np.asarray(a) - np.asarray(b)).max(initial=0.0)) / scale
        worst = max(worst, d)
        if not d <= AGREE:
            raise AssertionError(f"{what}: forms disagree by {d:.3e} (relative)")

    def cmp_state(s1, s2, what):
        for l1, l2 in zip(s1, s2):
            cmp(l1.conv, l2.conv, what + " conv state")
            cmp(l1.ssm, l2.ssm, what + " ssm state")

    lp, sp = model.forward_parallel(ids)
    cmp(lp, lr, "parallel vs recurrent")
    cmp_state(sp, sr, "parallel vs recurrent")
    for cs in sorted({1, 3, 8, model.cfg.chunk_size}):
        lc, sc = model.forward_parallel(ids, chunk_size=cs)
        cmp(lc, lr, f"chunked({cs}) vs recurrent")
        cmp_state(sc, sr, f"chunked({cs}) vs recurrent")
    L = len(ids)
    for k in sorted({1, L // 2, L - 1} & set(range(1, L))):
        # prefill k tokens (parallel), then step the rest
        lk, st = model.forward_parallel(ids[:k])
        rest, st = model.forward_recurrent(ids[k:], st)
        cmp(np.concatenate([lk, rest]), lr, f"prefill {k} + step")
        cmp_state(st, sr, f"prefill {k} + step")
        # step k tokens, then prefill the rest from that state (chunked)
        lk, st = model.forward_recurrent(ids[:k])
        rest, st = model.forward_parallel(ids[k:], st, chunk_size=5)
        cmp(np.concatenate([lk, rest]), lr, f"step {k} + prefill")
        cmp_state(st, sr, f"step {k} + prefill")
    return lr, sr, worst


def write_fixture(out_dir, name, cfg_name, dtype, seed, shards, verbose=True):
    cfg_dict = CONFIGS[cfg_name]
    cfg = ref.Config.from_dict(cfg_dict)
    d = os.path.join(out_dir, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg_dict, f, indent=2)
        f.write("\n")
    weights = make_weights(cfg, seed)
    stored = [(n, ref.round_to_dtype(a, dtype), dtype) for n, a in weights]
    meta = {"format": "pt"}
    if shards == 1:
        ref.write_safetensors(os.path.join(d, "model.safetensors"), stored, meta)
    else:
        ref.write_sharded(d, stored, shards, meta)

    # Compute from the files as stored.
    tensors, dtypes = ref.read_checkpoint(d, with_dtypes=True)
    assert set(dtypes.values()) == {dtype}
    for n, a, _ in stored:
        assert np.array_equal(tensors[n], a), n
    model = ref.Model(ref.Config.load(d), tensors)

    seqs = make_sequences(cfg, seed)
    results, worst, final_state = [], 0.0, None
    for ids in seqs:
        logits, state, w = check_forms(model, ids)
        worst = max(worst, w)
        results.append((ids, logits))
        final_state = state
    stats = _stats(model, results)
    margin = f32_engine_margin(d, results)

    lines = ['{',
             f'  "config_name": {json.dumps(cfg_name)},',
             f'  "fixture": {json.dumps(name)},',
             f'  "dtype": {json.dumps(dtype)},',
             f'  "vocab_size": {cfg.vocab_size},',
             f'  "padded_vocab_size": {cfg.padded_vocab},',
             f'  "tolerance": {json.dumps(TOLERANCE)},',
             '  "sequences": [']
    for si, (ids, logits) in enumerate(results):
        lines.append('    {"ids": [' + ", ".join(str(t) for t in ids) + '],')
        lines.append('     "logits": [')
        rows = ["      [" + ", ".join(fmt(float(v)) for v in r) + "]" for r in logits]
        lines.append(",\n".join(rows))
        lines.append('     ]}' + ("," if si < len(results) - 1 else ""))
    lines.append('  ],')
    fs = ref.state_summary(cfg, final_state)
    fs_json = {"after_sequence": len(results) - 1, "layers": _round_floats(fs["layers"])}
    fs_text = json.dumps(fs_json)
    lines.append('  "final_state": ' + fs_text)
    lines.append('}')
    text = "\n".join(lines) + "\n"
    parsed = json.loads(text)  # well-formed, and values round-trip to the computed ones
    for (ids, logits), s in zip(results, parsed["sequences"]):
        assert s["ids"] == ids
        got = np.array(s["logits"])
        assert got.shape == (len(ids), cfg.vocab_size)
        assert np.abs(got - logits).max() <= 1e-8 * max(1.0, np.abs(logits).max())
    assert parsed["final_state"]["layers"][0]["ssm_sum"] == r9(fs["layers"][0]["ssm_sum"])
    with open(os.path.join(d, "expected.json"), "w") as f:
        f.write(text)
    size = sum(os.path.getsize(os.path.join(d, x)) for x in os.listdir(d))
    if verbose:
        print(f"{name:18s} {dtype:5s} V={cfg.vocab_size}/{cfg.padded_vocab} D={cfg.d_model} Di={cfg.d_inner} "
              f"H={cfg.n_v_heads} G={cfg.n_qk_heads} P={cfg.headdim} N={cfg.d_state} K={cfg.d_conv} "
              f"act={cfg.activation} bias={cfg.ssm_bias} tied={cfg.tie_embeddings} shards={shards} "
              f"| forms agree to {worst:.1e} | float32 engine uses {margin:.1%} of tolerance | {stats} | {size / 1024:.0f} KiB")
    return worst


def tolerance_used(expected, got) -> float:
    """max over positions of |got - expected|_max / (rel * max|expected| + abs); <= 1 passes."""
    e, g = np.asarray(expected, dtype=np.float64), np.asarray(got, dtype=np.float64)
    allowed = TOLERANCE["rel_to_max_abs"] * np.abs(e).max(axis=-1) + TOLERANCE["abs"]
    return float((np.abs(g - e).max(axis=-1) / allowed).max())


def f32_engine_margin(model_dir, results) -> float:
    """How much of the tolerance a float32 engine (float32 weights, math and state) uses on this fixture,
    in both the recurrent and the parallel (chunked) forms."""
    m32 = ref.Model.load(model_dir, compute_dtype=np.float32)
    used = 0.0
    for ids, expected in results:
        used = max(used, tolerance_used(expected, m32.forward_recurrent(ids)[0]),
                   tolerance_used(expected, m32.forward_parallel(ids, chunk_size=m32.cfg.chunk_size)[0]))
    # the final-state summary, under the tolerance the README gives for it
    m64 = ref.Model.load(model_dir)
    ids = results[-1][0]
    want = ref.state_summary(m64.cfg, m64.forward_recurrent(ids)[1])["layers"]
    got = ref.state_summary(m32.cfg, m32.forward_recurrent(ids)[1])["layers"]
    for w, g in zip(want, got):
        for part, n in (("conv", int(np.prod(w["conv_shape"]))), ("ssm", int(np.prod(w["ssm_shape"])))):
            allowed_sum = STATE_TOLERANCE * np.sqrt(n * w[part + "_sumsq"]) + 1e-5
            used = max(used, abs(g[part + "_sum"] - w[part + "_sum"]) / allowed_sum,
                       abs(g[part + "_sumsq"] - w[part + "_sumsq"]) / (STATE_TOLERANCE * w[part + "_sumsq"] + 1e-5))
    if used > 0.5:
        raise AssertionError(f"{model_dir}: a float32 engine would use {used:.0%} of the tolerance")
    return used


def _stats(model, results):
    """Magnitudes worth eyeballing: logit range, dt range seen by the model, padded-row logits."""
    mx = max(float(np.abs(l).max()) for _, l in results)
    sd = float(np.mean([np.std(l) for _, l in results]))
    cfg = model.cfg
    # softplus(a) over the longest sequence, all layers
    ids = results[-1][0]
    h = model.emb[np.asarray(ids)].copy()
    state = model.new_state()
    dts = []
    for i in range(cfg.n_layer):
        U = ref.rmsnorm(h, model.layer(i, "input_layernorm.weight"), cfg.norm_epsilon)
        dts.append(ref.softplus(model._in_proj(i, U)[2]))
        h = h + model._mixer_parallel_chunk(i, U, state[i])
        h = h + model._mlp(i, ref.rmsnorm(h, model.layer(i, "post_attention_layernorm.weight"), cfg.norm_epsilon))
    dt = np.concatenate([x.ravel() for x in dts])
    pad = ""
    if cfg.padded_vocab > cfg.vocab_size:
        hn = ref.rmsnorm(np.ones(cfg.d_model), model.w["backbone.final_layernorm.weight"], cfg.norm_epsilon)
        pad = f" padded-row logit ~{float(np.abs(model.head[cfg.vocab_size:] @ hn).max()):.0f}"
    return f"max|logit| {mx:.2f} std {sd:.2f} dt {dt.min():.1e}..{dt.max():.1f}{pad}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT, help="fixtures directory (default: %(default)s)")
    ap.add_argument("--only", help="comma-separated fixture names")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    only = set(args.only.split(",")) if args.only else None
    for name, cfg_name, dtype, seed, shards in FIXTURES:
        if only and name not in only:
            continue
        write_fixture(args.out, name, cfg_name, dtype, seed, shards)
    total = 0
    for root, _, files in os.walk(args.out):
        total += sum(os.path.getsize(os.path.join(root, x)) for x in files)
    print(f"total {total / 1024:.0f} KiB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
