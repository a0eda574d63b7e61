#!/usr/bin/env python3
"""Self-test of the reference and of the committed fixtures.

    python3 llamba-engine/tools/reference/selftest.py

Checks: BF16 rounding against a scalar bit-level implementation; safetensors write/read round trips
(F32, BF16, F16, sharded) and rejection of malformed files; config defaults; agreement of the
recurrent, parallel, chunked and prefill-then-step forms on random models (including d_conv 1 and
extreme decays); that regenerating the fixtures reproduces the committed files byte for byte; that
the CLI prints the expected logits; and that typical engine bugs move the logits beyond the fixture
tolerance on at least one fixture (so the fixtures can catch them). Exit status 0 when all pass.
"""
from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import llamba_ref as ref  # noqa: E402
import make_fixtures as mf  # noqa: E402

FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


# ---------------------------------------------------------------------------------------------- bf16


def bf16_scalar(x: float) -> int:
    """Independent scalar float32 -> bf16 (round to nearest, ties to even) on Python ints."""
    (u,) = struct.unpack("<I", struct.pack("<f", x))
    if (u & 0x7F800000) == 0x7F800000 and (u & 0x007FFFFF):
        return (u >> 16) | 0x0040
    hi, lo = u >> 16, u & 0xFFFF
    if lo > 0x8000 or (lo == 0x8000 and (hi & 1)):
        hi += 1
    return hi & 0xFFFF


def test_bf16():
    cases = {0x3F800000: 0x3F80, 0x3F808000: 0x3F80, 0x3F818000: 0x3F82, 0x3F808001: 0x3F81,
             0x3F80FFFF: 0x3F81, 0xBF808000: 0xBF80, 0xBF818000: 0xBF82, 0x7F7FFFFF: 0x7F80,
             0x7F800000: 0x7F80, 0xFF800000: 0xFF80, 0x00000001: 0x0000, 0x00008001: 0x0001,
             0x80000000: 0x8000, 0x7FC00000: 0x7FC0}
    f = np.array(list(cases), dtype=np.uint32).view(np.float32)
    got = ref.f32_to_bf16_bits(f)
    check([int(g) for g in got] == list(cases.values()), "bf16 rounding: ties to even, overflow to inf, subnormals, signs")
    nan = ref.f32_to_bf16_bits(np.array([0x7F800001], dtype=np.uint32).view(np.float32))
    check(np.isnan(ref.bf16_bits_to_f32(nan))[0], "bf16 rounding keeps a signalling NaN a NaN")
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2 ** 32, size=20000, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    ok = all(bf16_scalar(float(v)) == int(b) for v, b in zip(x, ref.f32_to_bf16_bits(x)) if not math.isnan(v))
    check(ok, "bf16 rounding matches the scalar implementation on 20000 random bit patterns")
    y = rng.standard_normal(5000).astype(np.float32)
    r = ref.round_to_dtype(y, "BF16")
    check(np.all(np.abs(r - y) <= np.abs(y) * 2 ** -8), "bf16 rounding error within half an ulp (2^-8 relative)")
    check(np.array_equal(ref.round_to_dtype(r, "BF16"), r), "bf16 rounding is idempotent")


# ---------------------------------------------------------------------------------------------- safetensors


def test_safetensors():
    rng = np.random.default_rng(1)
    tensors = [("a.weight", rng.standard_normal((3, 5)).astype(np.float32), "F32"),
               ("b", rng.standard_normal((7,)).astype(np.float32), "BF16"),
               ("c.x", rng.standard_normal((2, 1, 3)).astype(np.float32), "F16"),
               ("d", np.array(2.5, dtype=np.float32), "F32"),
               ("e", np.zeros((0, 4), dtype=np.float32), "BF16")]
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "model.safetensors")
        ref.write_safetensors(p, tensors, {"format": "pt"})
        raw = open(p, "rb").read()
        (hlen,) = struct.unpack("<Q", raw[:8])
        header = json.loads(raw[8:8 + hlen])
        check(hlen % 8 == 0 and header["__metadata__"] == {"format": "pt"}, "header padded to 8 bytes, metadata kept")
        check(header["a.weight"] == {"dtype": "F32", "shape": [3, 5], "data_offsets": [0, 60]},
              "header entry {dtype, shape, data_offsets} relative to the data start")
        got, dt = ref.read_safetensors(p, with_dtypes=True)
        ok = all(np.array_equal(got[n], ref.round_to_dtype(a, t)) and dt[n] == t and got[n].shape == a.shape
                 for n, a, t in tensors)
        check(ok, "write/read round trip F32, BF16, F16 (incl. scalar and empty tensors)")
        b_bits = np.frombuffer(raw[8 + hlen + header["b"]["data_offsets"][0]:][:14], dtype="<u2")
        check(np.array_equal(b_bits, ref.f32_to_bf16_bits(tensors[1][1])), "BF16 bytes are little-endian bf16 bits")
        # malformed files are rejected
        for what, bad in [("truncated data", raw[:-2]), ("trailing bytes", raw + b"\0\0"),
                          ("header length past end", struct.pack("<Q", 1 << 40) + raw[8:])]:
            q = os.path.join(d, "bad.safetensors")
            open(q, "wb").write(bad)
            try:
                ref.read_safetensors(q)
                check(False, f"reader rejects {what}")
            except (ValueError, json.JSONDecodeError, UnicodeDecodeError):
                check(True, f"reader rejects {what}")
        # sharded
        s = os.path.join(d, "sharded")
        os.makedirs(s)
        ref.write_sharded(s, tensors[:4], 3)
        idx = json.load(open(os.path.join(s, "model.safetensors.index.json")))
        files = sorted(set(idx["weight_map"].values()))
        check(files == [f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)], "3 shards named by the index")
        got = ref.read_checkpoint(s)
        check(all(np.array_equal(got[n], ref.round_to_dtype(a, t)) for n, a, t in tensors[:4]), "sharded round trip")


# ---------------------------------------------------------------------------------------------- config


def test_config():
    c = ref.Config.from_dict({"vocab_size": 100, "d_model": 16, "n_layer": 1, "mlp_cfg": {"intermediate_size": 8},
                              "ssm_cfg": {"d_state": 4, "n_v_heads": 2, "n_qk_heads": 1}})
    check((c.tie_embeddings, c.pad_vocab_size_multiple, c.norm_epsilon, c.d_conv, c.expand, c.activation, c.ssm_bias)
          == (False, 8, 1e-5, 4, 1, "identity", False), "config defaults as documented")
    check((c.padded_vocab, c.d_inner, c.headdim, c.conv_dim, c.in_proj_rows) == (104, 16, 8, 24, 42),
          "derived sizes V, Di, P, C, in_proj rows")
    s = ref.expected_shapes(c)
    check("backbone.layers.0.mixer.z_bias" in s and "backbone.layers.0.mixer.in_proj.bias" not in s
          and "lm_head.weight" in s, "bias false: z_bias, no in/out_proj bias; untied: lm_head")
    c2 = ref.Config.from_dict({"vocab_size": 128256, "d_model": 16, "n_layer": 1, "tie_embeddings": True,
                               "mlp_cfg": {"intermediate_size": 8},
                               "ssm_cfg": {"d_state": 4, "n_v_heads": 2, "n_qk_heads": 2, "bias": True}})
    s2 = ref.expected_shapes(c2)
    check(c2.padded_vocab == 128256 and "backbone.layers.0.mixer.z_bias" not in s2
          and "backbone.layers.0.mixer.out_proj.bias" in s2 and "lm_head.weight" not in s2,
          "bias true: in/out_proj bias, no z_bias; tied: no lm_head; 128256 needs no padding")


# ---------------------------------------------------------------------------------------------- forms


def random_model(cfg_dict, seed, a_shift=0.0):
    cfg = ref.Config.from_dict(cfg_dict)
    w = dict(mf.make_weights(cfg, seed))
    if a_shift:
        for i in range(cfg.n_layer):
            k = f"backbone.layers.{i}.mixer.in_proj.weight"
            w[k][-cfg.n_v_heads:, 0] += a_shift
    return ref.Model(cfg, w)


def test_forms():
    base = {"vocab_size": 61, "d_model": 24, "n_layer": 2, "tie_embeddings": True,
            "mlp_cfg": {"intermediate_size": 40}, "ssm_cfg": {"d_state": 6, "n_v_heads": 6, "n_qk_heads": 3}}
    variants = {
        "d_conv 1": {"d_conv": 1}, "d_conv 2": {"d_conv": 2}, "d_conv 6, silu": {"d_conv": 6, "activation": "silu"},
        "G=1, expand 3": {"n_qk_heads": 1, "expand": 3}, "bias": {"bias": True}, "G=H": {"n_qk_heads": 6},
    }
    rng = np.random.default_rng(3)
    for name, over in variants.items():
        d = json.loads(json.dumps(base))
        d["ssm_cfg"].update(over)
        for shift, label in [(0.0, ""), (25.0, ", all decays ~0"), (-25.0, ", all decays ~1")]:
            m = random_model(d, 11, shift)
            ids = [int(t) for t in rng.integers(0, 61, size=23)]
            try:
                lr, st = mf.check_forms(m, ids)[:2]
                ok = np.all(np.isfinite(lr))
            except AssertionError as e:
                print("   ", e)
                ok = False
            check(ok, f"forms agree (recurrent, parallel, chunked, prefill+step, step+prefill): {name}{label}")


# ---------------------------------------------------------------------------------------------- fixtures


def test_fixtures_reproducible():
    with tempfile.TemporaryDirectory() as d:
        with open(os.devnull, "w") as null:
            old, sys.stdout = sys.stdout, null
            try:
                mf.main(["--out", d])
            finally:
                sys.stdout = old
        same = True
        for name, *_ in mf.FIXTURES:
            a, b = os.path.join(d, name), os.path.join(mf.DEFAULT_OUT, name)
            if not os.path.isdir(b) or sorted(os.listdir(a)) != sorted(os.listdir(b)):
                same = False
                print(f"    {name}: file list differs or missing")
                continue
            for f in os.listdir(a):
                if open(os.path.join(a, f), "rb").read() != open(os.path.join(b, f), "rb").read():
                    same = False
                    print(f"    {name}/{f} differs")
        check(same, "regenerating the fixtures reproduces the committed files byte for byte")
        total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(mf.DEFAULT_OUT) for f in fs)
        check(total < 3 * 1024 * 1024, f"fixtures folder is {total / 1024:.0f} KiB (< 3 MiB)")


def test_cli():
    d = os.path.join(mf.DEFAULT_OUT, "grouped-bf16")
    exp = json.load(open(os.path.join(d, "expected.json")))
    seq = exp["sequences"][1]
    for mode in ("parallel", "recurrent"):
        for allpos in (True, False):
            cmd = [sys.executable, os.path.join(HERE, "llamba_ref.py"), "logits", "--model", d,
                   "--ids", ",".join(map(str, seq["ids"])), "--mode", mode] + (["--all-positions"] if allpos else [])
            out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            want = seq["logits"] if allpos else seq["logits"][-1:]
            got = np.array(out["logits"])
            check(got.shape == np.array(want).shape and mf.tolerance_used(want, got) < 1e-3,
                  f"CLI logits ({mode}, {'all positions' if allpos else 'last position'}) match expected.json")


# ---------------------------------------------------------------------------------------------- bug sensitivity


class Mutant(ref.Model):
    """The reference with one deliberate, typical engine bug (recurrent form only)."""

    def __init__(self, model: ref.Model, bug: str):
        self.__dict__.update(model.__dict__)
        self.bug = bug
        if bug == "embedding used as head (untied)":
            self.head = model.emb
        if bug == "wrong epsilon":  # 1e-5 <-> 1e-6 (e.g. default not applied, or config key ignored)
            import dataclasses
            self.cfg = dataclasses.replace(model.cfg, norm_epsilon=1e-6 if model.cfg.norm_epsilon == 1e-5 else 1e-5)

    def _in_proj(self, i, u):
        c = self.cfg
        if self.bug == "in_proj split z first":
            zxbca = ref.linear(u, self.layer(i, "mixer.in_proj.weight"), self.layer(i, "mixer.in_proj.bias"))
            return zxbca[c.d_inner:c.d_inner + c.conv_dim], zxbca[:c.d_inner], zxbca[c.d_inner + c.conv_dim:]
        if self.bug == "in_proj bias ignored":
            zxbca = ref.linear(u, self.layer(i, "mixer.in_proj.weight"))
            C, Di = c.conv_dim, c.d_inner
            return zxbca[:C], zxbca[C:C + Di], zxbca[C + Di:]
        return super()._in_proj(i, u)

    def _split_conv_out(self, cv):
        x, B, C = super()._split_conv_out(cv)
        c = self.cfg
        if self.bug == "B and C swapped":
            return x, C, B
        if self.bug == "group = h % G":
            Di, GN, H, G, N = c.d_inner, c.n_qk_heads * c.d_state, c.n_v_heads, c.n_qk_heads, c.d_state
            Bg = cv[Di:Di + GN].reshape(G, N)
            Cg = cv[Di + GN:].reshape(G, N)
            g = np.arange(H) % G
            return x, Bg[g], Cg[g]
        return x, B, C

    def _gate_out(self, i, y, z):
        if self.bug == "z_bias ignored":
            return ref.linear(y * ref.silu(z), self.layer(i, "mixer.out_proj.weight"),
                              self.layer(i, "mixer.out_proj.bias"))
        if self.bug == "out_proj bias ignored":
            zb = self.layer(i, "mixer.z_bias")
            return ref.linear(y * ref.silu(z if zb is None else z + zb), self.layer(i, "mixer.out_proj.weight"))
        if self.bug == "gate z not silu'd":
            zb = self.layer(i, "mixer.z_bias")
            return ref.linear(y * (z if zb is None else z + zb), self.layer(i, "mixer.out_proj.weight"),
                              self.layer(i, "mixer.out_proj.bias"))
        return super()._gate_out(i, y, z)

    def _act(self, v):
        if self.bug == "conv activation ignored":
            return v
        return super()._act(v)

    def _mixer_step(self, i, u, st):
        c = self.cfg
        xBC, z, a = self._in_proj(i, u)
        w = self.layer(i, "mixer.conv1d.weight")[:, 0, :]
        if self.bug == "conv taps reversed":
            w = w[:, ::-1]
        window = np.concatenate([st.conv, xBC[:, None]], axis=1)
        if self.bug == "conv window not kept":
            window = np.concatenate([np.zeros_like(st.conv), xBC[:, None]], axis=1)
        bias = self.layer(i, "mixer.conv1d.bias")
        cv = (0 if self.bug == "conv bias ignored" else bias) + np.sum(w * window, axis=1)
        st.conv = window[:, 1:].copy()
        cv = self._act(cv)
        x, B, Cm = self._split_conv_out(cv)
        dt = np.maximum(a, 0.0) if self.bug == "softplus as relu" else ref.softplus(a)
        decay = np.exp(-dt)
        if self.bug == "ssm state not kept":
            st.ssm = np.zeros_like(st.ssm)
        if self.bug == "input scaled by dt":  # continuous Mamba-2 input Δ·x instead of the discrete x
            st.ssm = decay[:, None, None] * st.ssm + (dt[:, None] * x)[:, :, None] * B[:, None, :]
        else:
            st.ssm = decay[:, None, None] * st.ssm + x[:, :, None] * B[:, None, :]
        Dv = 0.0 if self.bug == "D skip ignored" else self.layer(i, "mixer.D")[:, None]
        y = np.einsum("hpn,hn->hp", st.ssm, Cm) + Dv * x
        return self._gate_out(i, y.reshape(c.d_inner), z)


BUGS = ["wrong epsilon", "in_proj split z first", "in_proj bias ignored", "B and C swapped", "group = h % G",
        "z_bias ignored", "out_proj bias ignored", "gate z not silu'd", "conv activation ignored",
        "conv taps reversed", "conv window not kept", "conv bias ignored", "softplus as relu",
        "input scaled by dt", "D skip ignored", "ssm state not kept", "embedding used as head (untied)"]


def test_bug_sensitivity():
    fixtures = {}
    for name, *_ in mf.FIXTURES:
        d = os.path.join(mf.DEFAULT_OUT, name)
        fixtures[name] = (ref.Model.load(d), json.load(open(os.path.join(d, "expected.json"))))
    for bug in BUGS:
        caught = []
        for name, (model, exp) in fixtures.items():
            m = Mutant(model, bug)
            worst = 0.0
            for s in exp["sequences"]:
                worst = max(worst, mf.tolerance_used(s["logits"], m.forward_recurrent(s["ids"])[0]))
            if worst > 1.0:
                caught.append(f"{name} ({worst:.0f}x)")
        check(bool(caught), f"bug '{bug}' exceeds the tolerance on: {', '.join(caught) or 'NONE'}")


def main():
    for t in (test_bf16, test_safetensors, test_config, test_forms, test_fixtures_reproducible, test_cli,
              test_bug_sensitivity):
        print(f"-- {t.__name__}")
        t()
    print(f"\n{'ALL PASSED' if not FAILURES else f'{len(FAILURES)} FAILED'}")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
