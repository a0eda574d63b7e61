#!/usr/bin/env python3
"""Independent numpy reference for Llamba (Llama-3 distilled into Discrete Mamba-2 mixers).

Implements docs/llamba-architecture.md from its equations; numpy only, all math in float64.

  * Config loading with the documented defaults.
  * A safetensors reader/writer (F32, BF16, F16; single file or sharded with an index).
  * The forward pass in two independent ways:
      - recurrent: token by token with an explicit per-sequence state
        (per layer: conv window of the last K-1 xBC inputs, C x (K-1); SSM state S, H x P x N);
      - parallel: the quadratic (attention-like) form over a whole prompt,
        y_t = sum_{s<=t} exp(-sum_{s<r<=t} dt_r) (C_t . B_s) x_s + D x_t,
        optionally in chunks that carry the state, and starting from any state.

CLI:  python3 llamba_ref.py logits --model DIR --ids 1,2,3 [--all-positions] [--mode recurrent|parallel]
prints {"logits": [[...vocab_size floats...], ...]} (last position only unless --all-positions).
"""
from __future__ import annotations

import argparse
import json
import os
import struct
import sys
from dataclasses import dataclass, field

import numpy as np

# ----------------------------------------------------------------------------------------------
# BF16 / dtype helpers
# ----------------------------------------------------------------------------------------------


def f32_to_bf16_bits(a) -> np.ndarray:
    """float32 -> bf16 bit patterns (uint16), round to nearest, ties to even. NaN stays a (quiet) NaN."""
    a = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
    u = a.view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    nan = np.isnan(a)
    out = rounded.astype(np.uint16)
    if nan.any():
        out = np.where(nan, ((u >> 16) | 0x0040).astype(np.uint16), out)
    return out


def bf16_bits_to_f32(b) -> np.ndarray:
    """bf16 bit patterns (uint16) -> float32, by shifting into the high half."""
    b = np.asarray(b, dtype=np.uint16)
    return (b.astype(np.uint32) << 16).view(np.float32)


def round_to_dtype(a, dtype: str) -> np.ndarray:
    """The float32 values a tensor has after being stored as `dtype` (F32, BF16, F16)."""
    a = np.asarray(a, dtype=np.float32)
    if dtype == "F32":
        return a.copy()
    if dtype == "BF16":
        return bf16_bits_to_f32(f32_to_bf16_bits(a))
    if dtype == "F16":
        h = a.astype(np.float16)
        if not np.all(np.isfinite(h) == np.isfinite(a)):
            raise ValueError("value out of F16 range")
        return h.astype(np.float32)
    raise ValueError(f"unsupported dtype {dtype}")


_DTYPE_SIZE = {"F32": 4, "BF16": 2, "F16": 2, "F64": 8}

# ----------------------------------------------------------------------------------------------
# safetensors
# ----------------------------------------------------------------------------------------------


def encode_tensor(a, dtype: str) -> bytes:
    a = np.asarray(a)
    if dtype == "F32":
        return np.ascontiguousarray(a, dtype="<f4").tobytes()
    if dtype == "F64":
        return np.ascontiguousarray(a, dtype="<f8").tobytes()
    if dtype == "F16":
        h = np.ascontiguousarray(a, dtype=np.float32).astype("<f2")
        if not np.all(np.isfinite(h) == np.isfinite(np.asarray(a, dtype=np.float32))):
            raise ValueError("value out of F16 range")
        return h.tobytes()
    if dtype == "BF16":
        return f32_to_bf16_bits(a).astype("<u2").tobytes()
    raise ValueError(f"unsupported dtype {dtype}")


def decode_tensor(buf: bytes, dtype: str, shape) -> np.ndarray:
    n = int(np.prod(shape, dtype=np.int64)) if len(shape) else 1
    if len(buf) != n * _DTYPE_SIZE[dtype]:
        raise ValueError(f"byte length {len(buf)} does not match {dtype}{list(shape)}")
    if dtype == "F32":
        a = np.frombuffer(buf, dtype="<f4").astype(np.float32)
    elif dtype == "F64":
        a = np.frombuffer(buf, dtype="<f8").astype(np.float64)
    elif dtype == "F16":
        a = np.frombuffer(buf, dtype="<f2").astype(np.float32)
    elif dtype == "BF16":
        a = bf16_bits_to_f32(np.frombuffer(buf, dtype="<u2"))
    else:
        raise ValueError(f"unsupported dtype {dtype}")
    return a.reshape(shape)


def write_safetensors(path: str, tensors, metadata: dict | None = None) -> int:
    """tensors: iterable of (name, array, dtype). Data is laid out in the given order; header keys are
    written sorted (so header order and data order differ, as in real files). Returns the data size."""
    header = {}
    chunks = []
    offset = 0
    for name, arr, dtype in tensors:
        if name in header:
            raise ValueError(f"duplicate tensor {name}")
        data = encode_tensor(arr, dtype)
        header[name] = {"dtype": dtype, "shape": [int(s) for s in np.shape(arr)],
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hjson = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((-len(hjson)) % 8)  # pad with spaces to 8-byte alignment, as the HF writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for c in chunks:
            f.write(c)
    return offset


def read_safetensors(path: str, with_dtypes: bool = False):
    """Returns {name: float32 ndarray} (and {name: dtype} with with_dtypes). Validates the layout."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short")
    (hlen,) = struct.unpack("<Q", raw[:8])
    if 8 + hlen > len(raw):
        raise ValueError(f"{path}: header length {hlen} past end of file")
    header = json.loads(raw[8:8 + hlen].decode("utf-8"))
    data = raw[8 + hlen:]
    tensors, dtypes, spans = {}, {}, []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype, shape, (b, e) = info["dtype"], info["shape"], info["data_offsets"]
        if not (0 <= b <= e <= len(data)):
            raise ValueError(f"{path}: {name}: offsets {b},{e} outside data of {len(data)} bytes")
        tensors[name] = decode_tensor(data[b:e], dtype, tuple(shape))
        dtypes[name] = dtype
        spans.append((b, e))
    spans.sort()
    pos = 0
    for b, e in spans:  # contiguous, non-overlapping, covering the whole data section
        if b != pos:
            raise ValueError(f"{path}: tensor data not contiguous at byte {pos}")
        pos = e
    if pos != len(data):
        raise ValueError(f"{path}: {len(data) - pos} trailing bytes")
    return (tensors, dtypes) if with_dtypes else tensors


def read_checkpoint(model_dir: str, with_dtypes: bool = False):
    """model.safetensors, or model.safetensors.index.json + shards."""
    index = os.path.join(model_dir, "model.safetensors.index.json")
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        tensors, dtypes = {}, {}
        for shard in sorted(set(weight_map.values())):
            t, d = read_safetensors(os.path.join(model_dir, shard), with_dtypes=True)
            for k in t:
                if weight_map.get(k) != shard:
                    raise ValueError(f"{shard}: tensor {k} not mapped to this shard by the index")
                if k in tensors:
                    raise ValueError(f"tensor {k} in two shards")
            tensors.update(t)
            dtypes.update(d)
        missing = set(weight_map) - set(tensors)
        if missing:
            raise ValueError(f"index names tensors not found in shards: {sorted(missing)[:5]}")
    elif os.path.exists(single):
        tensors, dtypes = read_safetensors(single, with_dtypes=True)
    else:
        raise FileNotFoundError(f"{model_dir}: no model.safetensors or model.safetensors.index.json")
    return (tensors, dtypes) if with_dtypes else tensors


def write_sharded(model_dir: str, tensors, n_shards: int, metadata: dict | None = None):
    """Splits the (name, array, dtype) list into n_shards consecutive groups of similar byte size;
    writes model-0000i-of-0000n.safetensors and model.safetensors.index.json."""
    tensors = list(tensors)
    sizes = [len(encode_tensor(a, d)) for _, a, d in tensors]
    total = sum(sizes)
    groups, cur, acc = [], [], 0
    for t, s in zip(tensors, sizes):
        cur.append(t)
        acc += s
        if len(groups) < n_shards - 1 and acc >= total * (len(groups) + 1) / n_shards:
            groups.append(cur)
            cur = []
    groups.append(cur)
    while len(groups) < n_shards:  # should not happen for reasonable inputs
        groups.append([])
    if any(not g for g in groups):
        raise ValueError("a shard would be empty")
    weight_map = {}
    for i, g in enumerate(groups):
        fname = f"model-{i + 1:05d}-of-{n_shards:05d}.safetensors"
        write_safetensors(os.path.join(model_dir, fname), g, metadata)
        for name, _, _ in g:
            weight_map[name] = fname
    with open(os.path.join(model_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))},
                  f, indent=2)
        f.write("\n")


# ----------------------------------------------------------------------------------------------
# Config
# ----------------------------------------------------------------------------------------------


@dataclass
class Config:
    vocab_size: int
    d_model: int
    n_layer: int
    intermediate_size: int
    d_state: int
    n_v_heads: int
    n_qk_heads: int
    tie_embeddings: bool = False
    pad_vocab_size_multiple: int = 8
    norm_epsilon: float = 1e-5
    d_conv: int = 4
    expand: int = 1
    activation: str = "identity"
    ssm_bias: bool = False
    chunk_size: int = 128
    raw: dict = field(default_factory=dict, repr=False)

    @staticmethod
    def from_dict(d: dict) -> "Config":
        if d.get("model_type", "llamba") != "llamba":
            raise ValueError(f"model_type {d.get('model_type')!r} is not llamba")
        mlp = d.get("mlp_cfg", {})
        ssm = d["ssm_cfg"]
        if mlp.get("bias", False):
            raise ValueError("mlp_cfg.bias true is not defined by the architecture doc")
        if mlp.get("act_fn", "silu") != "silu":
            raise ValueError(f"mlp_cfg.act_fn {mlp.get('act_fn')!r} unsupported")
        if d.get("lm_head_bias", False):
            raise ValueError("lm_head_bias true is not defined by the architecture doc")
        c = Config(
            vocab_size=int(d["vocab_size"]), d_model=int(d["d_model"]), n_layer=int(d["n_layer"]),
            intermediate_size=int(mlp["intermediate_size"]), d_state=int(ssm["d_state"]),
            n_v_heads=int(ssm["n_v_heads"]), n_qk_heads=int(ssm["n_qk_heads"]),
            tie_embeddings=bool(d.get("tie_embeddings", False)),
            pad_vocab_size_multiple=int(d.get("pad_vocab_size_multiple", 8)),
            norm_epsilon=float(d.get("norm_epsilon", 1e-5)),
            d_conv=int(ssm.get("d_conv", 4)), expand=int(ssm.get("expand", 1)),
            activation=str(ssm.get("activation", "identity")), ssm_bias=bool(ssm.get("bias", False)),
            chunk_size=int(ssm.get("chunk_size", 128)), raw=d)
        if c.activation not in ("identity", "silu"):
            raise ValueError(f"ssm_cfg.activation {c.activation!r} unsupported")
        if c.n_v_heads % c.n_qk_heads:
            raise ValueError("n_v_heads must be a multiple of n_qk_heads")
        if c.d_inner % c.n_v_heads:
            raise ValueError("expand*d_model must be a multiple of n_v_heads")
        if c.d_conv < 1:
            raise ValueError("d_conv must be >= 1")
        return c

    @staticmethod
    def load(path: str) -> "Config":
        if os.path.isdir(path):
            path = os.path.join(path, "config.json")
        with open(path) as f:
            return Config.from_dict(json.load(f))

    # derived sizes (doc notation)
    @property
    def d_inner(self):  # Di
        return self.expand * self.d_model

    @property
    def headdim(self):  # P
        return self.d_inner // self.n_v_heads

    @property
    def conv_dim(self):  # C = Di + 2 G N
        return self.d_inner + 2 * self.n_qk_heads * self.d_state

    @property
    def in_proj_rows(self):  # 2 Di + 2 G N + H
        return 2 * self.d_inner + 2 * self.n_qk_heads * self.d_state + self.n_v_heads

    @property
    def padded_vocab(self):  # V
        m = self.pad_vocab_size_multiple
        return ((self.vocab_size + m - 1) // m) * m


def expected_shapes(cfg: Config) -> dict:
    """Every tensor the checkpoint must hold, with its shape (no more, no less)."""
    D, Di, H, I, V = cfg.d_model, cfg.d_inner, cfg.n_v_heads, cfg.intermediate_size, cfg.padded_vocab
    s = {"backbone.embedding.weight": (V, D), "backbone.final_layernorm.weight": (D,)}
    for i in range(cfg.n_layer):
        p = f"backbone.layers.{i}."
        s[p + "input_layernorm.weight"] = (D,)
        s[p + "mixer.in_proj.weight"] = (cfg.in_proj_rows, D)
        if cfg.ssm_bias:
            s[p + "mixer.in_proj.bias"] = (cfg.in_proj_rows,)
            s[p + "mixer.out_proj.bias"] = (D,)
        else:
            s[p + "mixer.z_bias"] = (Di,)
        s[p + "mixer.conv1d.weight"] = (cfg.conv_dim, 1, cfg.d_conv)
        s[p + "mixer.conv1d.bias"] = (cfg.conv_dim,)
        s[p + "mixer.D"] = (H,)
        s[p + "mixer.out_proj.weight"] = (D, Di)
        s[p + "post_attention_layernorm.weight"] = (D,)
        s[p + "mlp.gate_proj.weight"] = (I, D)
        s[p + "mlp.up_proj.weight"] = (I, D)
        s[p + "mlp.down_proj.weight"] = (D, I)
    if not cfg.tie_embeddings:
        s["lm_head.weight"] = (V, D)
    return s


# ----------------------------------------------------------------------------------------------
# Math
# ----------------------------------------------------------------------------------------------


def softplus(v):
    return np.logaddexp(0.0, v)  # log(1 + e^v), stable for large |v|


def sigmoid(v):
    return 0.5 * (1.0 + np.tanh(0.5 * v))  # stable, no overflow


def silu(v):
    return v * sigmoid(v)


def rmsnorm(x, w, eps):
    return w * x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)


def linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


# ----------------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------------


@dataclass
class LayerState:
    conv: np.ndarray  # C x (K-1): column k holds xBC_{t-K+2+k} (oldest first); zeros before the first token
    ssm: np.ndarray  # H x P x N


class Model:
    def __init__(self, cfg: Config, tensors: dict, compute_dtype=np.float64):
        """compute_dtype float64 is the reference; float32 imitates an engine (used to size tolerances)."""
        self.cfg = cfg
        self.dtype = np.dtype(compute_dtype)
        want = expected_shapes(cfg)
        missing = sorted(set(want) - set(tensors))
        extra = sorted(set(tensors) - set(want))
        if missing:
            raise ValueError(f"missing tensors: {missing}")
        if extra:
            raise ValueError(f"unexpected tensors: {extra}")
        for k, s in want.items():
            if tuple(tensors[k].shape) != tuple(s):
                raise ValueError(f"{k}: shape {tuple(tensors[k].shape)}, expected {s}")
        self.w = {k: np.asarray(v, dtype=self.dtype) for k, v in tensors.items()}
        self.emb = self.w["backbone.embedding.weight"]
        self.head = self.emb if cfg.tie_embeddings else self.w["lm_head.weight"]

    @staticmethod
    def load(model_dir: str, compute_dtype=np.float64) -> "Model":
        return Model(Config.load(model_dir), read_checkpoint(model_dir), compute_dtype)

    def layer(self, i, name):
        return self.w.get(f"backbone.layers.{i}.{name}")

    def new_state(self):
        c = self.cfg
        return [LayerState(np.zeros((c.conv_dim, c.d_conv - 1), dtype=self.dtype),
                           np.zeros((c.n_v_heads, c.headdim, c.d_state), dtype=self.dtype))
                for _ in range(c.n_layer)]

    # ---- pieces shared by both forms (per token, or per row of a matrix of tokens) ----

    def _in_proj(self, i, u):
        c = self.cfg
        zxbca = linear(u, self.layer(i, "mixer.in_proj.weight"), self.layer(i, "mixer.in_proj.bias"))
        C, Di = c.conv_dim, c.d_inner
        xBC, z, a = zxbca[..., :C], zxbca[..., C:C + Di], zxbca[..., C + Di:]
        assert a.shape[-1] == c.n_v_heads
        return xBC, z, a

    def _act(self, v):
        return silu(v) if self.cfg.activation == "silu" else v

    def _split_conv_out(self, cv):
        """conv output (..., C) -> x (..., H, P), B (..., H, N), C (..., H, N) with group g = h // (H/G)."""
        c = self.cfg
        Di, GN, H, G, N = c.d_inner, c.n_qk_heads * c.d_state, c.n_v_heads, c.n_qk_heads, c.d_state
        x = cv[..., :Di].reshape(cv.shape[:-1] + (H, c.headdim))
        B = cv[..., Di:Di + GN].reshape(cv.shape[:-1] + (G, N))
        Cm = cv[..., Di + GN:].reshape(cv.shape[:-1] + (G, N))
        group_of_head = np.arange(H) // (H // G)
        return x, B[..., group_of_head, :], Cm[..., group_of_head, :]

    def _gate_out(self, i, y, z):
        zb = self.layer(i, "mixer.z_bias")
        g = silu(z + zb) if zb is not None else silu(z)
        return linear(y * g, self.layer(i, "mixer.out_proj.weight"), self.layer(i, "mixer.out_proj.bias"))

    def _mlp(self, i, x):
        gate = linear(x, self.layer(i, "mlp.gate_proj.weight"))
        up = linear(x, self.layer(i, "mlp.up_proj.weight"))
        return linear(silu(gate) * up, self.layer(i, "mlp.down_proj.weight"))

    def _logits(self, h):
        hn = rmsnorm(h, self.w["backbone.final_layernorm.weight"], self.cfg.norm_epsilon)
        return hn @ self.head[:self.cfg.vocab_size].T  # padded rows are never part of the output

    def _check_ids(self, ids):
        for t in ids:
            if not (0 <= int(t) < self.cfg.vocab_size):
                raise ValueError(f"token id {t} outside [0, {self.cfg.vocab_size})")

    # ---- (a) recurrent form: one token, explicit state ----

    def _mixer_step(self, i, u, st: LayerState):
        c = self.cfg
        xBC, z, a = self._in_proj(i, u)
        w = self.layer(i, "mixer.conv1d.weight")  # C x 1 x K
        window = np.concatenate([st.conv, xBC[:, None]], axis=1)  # C x K: xBC_{t-K+1} .. xBC_t
        cv = self.layer(i, "mixer.conv1d.bias") + np.sum(w[:, 0, :] * window, axis=1)
        st.conv = window[:, 1:].copy()  # the last K-1 inputs
        cv = self._act(cv)
        x, B, Cm = self._split_conv_out(cv)  # H x P, H x N, H x N
        decay = np.exp(-softplus(a))  # H
        st.ssm = decay[:, None, None] * st.ssm + x[:, :, None] * B[:, None, :]
        y = np.einsum("hpn,hn->hp", st.ssm, Cm) + self.layer(i, "mixer.D")[:, None] * x
        return self._gate_out(i, y.reshape(c.d_inner), z)

    def step(self, token: int, state):
        """Advances `state` (list of LayerState, modified in place) by one token; returns its logits."""
        self._check_ids([token])
        c = self.cfg
        h = self.emb[int(token)].copy()
        for i in range(c.n_layer):
            h = h + self._mixer_step(i, rmsnorm(h, self.layer(i, "input_layernorm.weight"), c.norm_epsilon),
                                     state[i])
            h = h + self._mlp(i, rmsnorm(h, self.layer(i, "post_attention_layernorm.weight"), c.norm_epsilon))
        return self._logits(h)

    def forward_recurrent(self, ids, state=None):
        state = self.new_state() if state is None else state
        rows = [self.step(t, state) for t in ids]
        return (np.stack(rows) if rows else np.zeros((0, self.cfg.vocab_size))), state

    # ---- (b) parallel (quadratic) form over a whole prompt, optionally chunked ----

    def _mixer_parallel_chunk(self, i, U, st: LayerState):
        """U: L x D (normalized inputs). Returns L x D and advances st over the L tokens."""
        c = self.cfg
        K, L = c.d_conv, U.shape[0]
        xBC, z, a = self._in_proj(i, U)  # L x C, L x Di, L x H
        w = self.layer(i, "mixer.conv1d.weight")[:, 0, :]  # C x K
        padded = np.concatenate([st.conv.T, xBC], axis=0)  # (K-1+L) x C; row r = xBC_{r-K+1}
        cv = np.tile(self.layer(i, "mixer.conv1d.bias"), (L, 1))
        for k in range(K):  # c_t = bias + sum_k w[:,k] xBC_{t-K+1+k}
            cv = cv + w[:, k] * padded[k:k + L]
        new_conv = padded[L:].T.copy()  # last K-1 rows
        cv = self._act(cv)
        x, B, Cm = self._split_conv_out(cv)  # L x H x P, L x H x N, L x H x N
        dt = softplus(a)  # L x H
        # seg[h, t, s] = sum_{s < r <= t} dt_r (only s <= t used); computed by masked cumulative sums
        rep = np.broadcast_to(dt.T[:, :, None], (c.n_v_heads, L, L)).copy()  # rep[h, r, s] = dt_r
        strictly_lower = np.tril(np.ones((L, L), dtype=bool), k=-1)  # r > s
        rep = np.where(strictly_lower[None], rep, 0.0)
        seg = np.cumsum(rep, axis=1)  # seg[h, t, s] = sum_{r <= t, r > s} dt_r
        causal = np.tril(np.ones((L, L), dtype=bool))
        Lmat = np.where(causal[None], np.exp(-np.where(causal[None], seg, 0.0)), 0.0)  # H x L x L
        CB = np.einsum("thn,shn->hts", Cm, B)  # C_t . B_s
        y = np.einsum("hts,shp->thp", Lmat * CB, x)
        y = y + self.layer(i, "mixer.D")[None, :, None] * x
        # contribution of the state carried into this chunk: exp(-sum_{r<=t} dt_r) S0 C_t
        cum = np.cumsum(dt, axis=0)  # L x H
        y = y + np.exp(-cum)[:, :, None] * np.einsum("hpn,thn->thp", st.ssm, Cm)
        # state after the chunk: exp(-sum_all dt) S0 + sum_s exp(-sum_{s<r<=L} dt_r) x_s (x) B_s
        tail = seg[:, L - 1, :]  # H x L: sum_{s < r <= L-1}
        st.ssm = np.exp(-cum[-1])[:, None, None] * st.ssm + np.einsum("hs,shp,shn->hpn", np.exp(-tail), x, B)
        st.conv = new_conv
        return self._gate_out(i, y.reshape(L, c.d_inner), z)

    def forward_parallel(self, ids, state=None, chunk_size=None):
        """Whole prompt at once, layer by layer. chunk_size None = one chunk (pure quadratic form)."""
        self._check_ids(ids)
        c = self.cfg
        state = self.new_state() if state is None else state
        h = self.emb[np.asarray(ids, dtype=np.int64)].copy()  # L x D
        L = h.shape[0]
        cs = L if chunk_size is None else chunk_size
        for i in range(c.n_layer):
            U = rmsnorm(h, self.layer(i, "input_layernorm.weight"), c.norm_epsilon)
            out = np.concatenate([self._mixer_parallel_chunk(i, U[b:b + cs], state[i]) for b in range(0, L, cs)])
            h = h + out
            h = h + self._mlp(i, rmsnorm(h, self.layer(i, "post_attention_layernorm.weight"), c.norm_epsilon))
        return self._logits(h), state


def state_summary(cfg: Config, state) -> dict:
    layers = []
    for st in state:
        layers.append({
            "conv_shape": list(st.conv.shape), "conv_sum": float(st.conv.sum()),
            "conv_sumsq": float((st.conv ** 2).sum()),
            "conv_column_sums": [float(v) for v in st.conv.sum(axis=0)],
            "ssm_shape": list(st.ssm.shape), "ssm_sum": float(st.ssm.sum()),
            "ssm_sumsq": float((st.ssm ** 2).sum()),
            "ssm_head_sums": [float(v) for v in st.ssm.sum(axis=(1, 2))],
        })
    return {"layers": layers}


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    lg = sub.add_parser("logits", help="print logits of a token sequence as JSON")
    lg.add_argument("--model", required=True, help="checkpoint directory (config.json + safetensors)")
    lg.add_argument("--ids", required=True, help="comma-separated token ids")
    lg.add_argument("--all-positions", action="store_true", help="one row per position, not only the last")
    lg.add_argument("--mode", choices=("recurrent", "parallel"), default="parallel")
    lg.add_argument("--digits", type=int, default=9, help="significant digits printed")
    args = ap.parse_args(argv)

    try:
        ids = [int(t) for t in args.ids.split(",") if t.strip()]
    except ValueError:
        ap.error("--ids must be comma-separated integers")
    if not ids:
        ap.error("--ids is empty")
    try:
        model = Model.load(args.model)
        if args.mode == "recurrent":
            logits, _ = model.forward_recurrent(ids)
        else:
            logits, _ = model.forward_parallel(ids)
    except (OSError, ValueError, KeyError) as e:
        print(f"llamba_ref logits: {e}", file=sys.stderr)
        return 1
    rows = logits if args.all_positions else logits[-1:]
    fmt = "{:.%dg}" % args.digits
    sys.stdout.write('{"logits": [' + ", ".join(
        "[" + ", ".join(fmt.format(float(v)) for v in r) + "]" for r in rows) + "]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
