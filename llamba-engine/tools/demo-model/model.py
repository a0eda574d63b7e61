"""Llamba in PyTorch, for training the demo model (shared docs/llamba-architecture.md).

Parameter names and shapes are the Hugging Face checkpoint's (backbone.*), so `state_dict()` is the
checkpoint. Three forms of the Discrete Mamba-2 mixer:
  * `forward` (training, whole sequences): the quadratic form per head,
        y_t = sum_{s<=t} exp(-sum_{s<r<=t} dt_r) (C_t . B_s) x_s + D x_t,
    with the segment sums as differences of a cumulative sum (float32);
  * `prefill` (a prompt, from an empty state) returns the logits of every position and the state;
  * `step` (one token per sequence, batched) advances an explicit state, as a serving engine does.
selftest.py checks all three against the numpy reference (tools/reference/llamba_ref.py).
Runs on torch 1.13 (Debian's python3-torch) and 2.x.
"""
from __future__ import annotations

import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from llamba_ref import Config  # noqa: E402  (the architecture's config parsing and defaults, shared)


def _wide(t):
    """At least float32 (float64 stays float64, for checks against the reference)."""
    return t if t.dtype == torch.float64 else t.float()


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        xf = _wide(x)
        return (_wide(self.weight) * xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)


class Mixer(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        if c.ssm_bias:
            raise ValueError("the demo trainer implements ssm_cfg.bias false (Llamba's setting) only")
        self.c = c
        self.in_proj = nn.Linear(c.d_model, c.in_proj_rows, bias=False)
        self.z_bias = nn.Parameter(torch.zeros(c.d_inner))
        self.conv1d = nn.Conv1d(c.conv_dim, c.conv_dim, c.d_conv, groups=c.conv_dim, bias=True)
        self.D = nn.Parameter(torch.ones(c.n_v_heads))
        self.out_proj = nn.Linear(c.d_inner, c.d_model, bias=False)

    def _split(self, zxbca):
        c = self.c
        C, Di = c.conv_dim, c.d_inner
        return zxbca[..., :C], zxbca[..., C:C + Di], zxbca[..., C + Di:]

    def _heads(self, cv):
        """conv output (..., C) -> x (..., H, P), B and C (..., G, N)."""
        c = self.c
        Di, GN = c.d_inner, c.n_qk_heads * c.d_state
        x = cv[..., :Di].unflatten(-1, (c.n_v_heads, c.headdim))
        B = cv[..., Di:Di + GN].unflatten(-1, (c.n_qk_heads, c.d_state))
        Cm = cv[..., Di + GN:].unflatten(-1, (c.n_qk_heads, c.d_state))
        return x, B, Cm

    def _act(self, v):
        return F.silu(v) if self.c.activation == "silu" else v

    def _out(self, y, z):
        return self.out_proj(y.flatten(-2).to(z.dtype) * F.silu(z + self.z_bias.to(z.dtype)))

    def forward(self, u, return_state=False, chunk=64):
        """u: (batch, L, D) normalized inputs, sequences starting from an empty state. The scan runs in
        chunks of `chunk` tokens: the quadratic form inside a chunk, the state carried between chunks
        (Mamba-2's SSD), so memory grows as L * chunk rather than L^2."""
        c = self.c
        Bsz, L, _ = u.shape
        H, G, rep = c.n_v_heads, c.n_qk_heads, c.n_v_heads // c.n_qk_heads
        xBC, z, a = self._split(self.in_proj(u))
        xBC_t = xBC.transpose(1, 2)  # batch, C, L
        cv = F.conv1d(xBC_t, self.conv1d.weight.to(xBC.dtype), self.conv1d.bias.to(xBC.dtype),
                      padding=c.d_conv - 1, groups=c.conv_dim)[..., :L]
        cv = self._act(cv.transpose(1, 2))
        x, Bm, Cm = self._heads(_wide(cv))  # the scan in float32 (float64 when the model is)
        dt = F.softplus(_wide(a))  # batch, L, H
        ssm = x.new_zeros(Bsz, H, c.headdim, c.d_state)
        ys = []
        for b0 in range(0, L, chunk):
            xs, Bs, Cs = x[:, b0:b0 + chunk], Bm[:, b0:b0 + chunk], Cm[:, b0:b0 + chunk]
            Q = xs.shape[1]
            cum = torch.cumsum(dt[:, b0:b0 + chunk], dim=1).transpose(1, 2)  # batch, H, Q
            seg = cum[:, :, :, None] - cum[:, :, None, :]  # [t, s] = sum_{s<r<=t} dt_r
            causal = torch.ones(Q, Q, dtype=torch.bool, device=u.device).tril()
            decay = torch.exp(-seg.masked_fill(~causal, float("inf")))
            cb = torch.einsum("btgn,bsgn->bgts", Cs, Bs).repeat_interleave(rep, dim=1)  # head h: group h // rep
            y = torch.einsum("bhts,bshp->bthp", decay * cb, xs)
            Ch, Bh = Cs.repeat_interleave(rep, dim=2), Bs.repeat_interleave(rep, dim=2)  # batch, Q, H, N
            if b0 > 0:  # the state carried in: exp(-sum_{r<=t} dt_r) S C_t
                y = y + torch.exp(-cum).transpose(1, 2)[..., None] * torch.einsum("bhpn,bthn->bthp", ssm, Ch)
            tail = torch.exp(-(cum[:, :, -1:] - cum))  # batch, H, Q: decay from s to the chunk's end
            ssm = torch.exp(-cum[:, :, -1])[:, :, None, None] * ssm + torch.einsum("bhs,bshp,bshn->bhpn", tail, xs, Bh)
            ys.append(y)
        y = torch.cat(ys, dim=1) + _wide(self.D)[None, None, :, None] * x
        out = self._out(y, z)
        if not return_state:
            return out
        K = c.d_conv  # conv window: the last K-1 inputs, zeros before the first token
        conv = F.pad(_wide(xBC_t), (max(0, K - 1 - L), 0))[..., -(K - 1):] if K > 1 else xBC_t.new_zeros(Bsz, c.conv_dim, 0)
        return out, (conv, ssm)

    def step(self, u, state):
        """u: (batch, D); state (conv (batch, C, K-1), ssm (batch, H, P, N)) updated in place."""
        c = self.c
        conv, ssm = state
        xBC, z, a = self._split(self.in_proj(u))
        window = torch.cat([conv, xBC.to(conv.dtype)[:, :, None]], dim=2)  # batch, C, K
        cv = self.conv1d.bias.to(conv.dtype) + (window * self.conv1d.weight.to(conv.dtype)[:, 0, :]).sum(-1)
        conv.copy_(window[:, :, 1:])
        x, Bm, Cm = self._heads(self._act(cv))
        rep = c.n_v_heads // c.n_qk_heads
        Bm, Cm = Bm.repeat_interleave(rep, dim=1), Cm.repeat_interleave(rep, dim=1)  # batch, H, N
        decay = torch.exp(-F.softplus(a.to(ssm.dtype)))  # batch, H
        ssm.mul_(decay[:, :, None, None]).add_(x[:, :, :, None] * Bm[:, :, None, :])
        y = torch.einsum("bhpn,bhn->bhp", ssm, Cm) + self.D.to(ssm.dtype)[None, :, None] * x
        return self._out(y, z.to(ssm.dtype))


class MLP(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.gate_proj = nn.Linear(c.d_model, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.d_model, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.d_model, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.input_layernorm = RMSNorm(c.d_model, c.norm_epsilon)
        self.mixer = Mixer(c)
        self.post_attention_layernorm = RMSNorm(c.d_model, c.norm_epsilon)
        self.mlp = MLP(c)


class Backbone(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.embedding = nn.Embedding(c.padded_vocab, c.d_model)
        self.layers = nn.ModuleList(Block(c) for _ in range(c.n_layer))
        self.final_layernorm = RMSNorm(c.d_model, c.norm_epsilon)


class Llamba(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.backbone = Backbone(c)
        if not c.tie_embeddings:
            self.lm_head = nn.Linear(c.d_model, c.padded_vocab, bias=False)

    def head(self):
        return self.backbone.embedding.weight if self.c.tie_embeddings else self.lm_head.weight

    def init_weights(self, generator=None, dt_range=(1e-3, 1e-1)):
        """GPT-style init: N(0, 0.02), residual outputs scaled by 1/sqrt(2 n_layer); D = 1, z_bias = 0.

        Llamba has no dt bias (in_proj has no bias): dt = softplus(a) with a = w_a . u, so with plain
        small weights every head starts with dt ~ 0.7, i.e. its state halves at every token and the
        model cannot carry anything across a prompt. The init therefore gives every embedding row a
        shared component along a random direction m (it shifts all logits alike, so the output is
        unchanged), and points each head's a-row along -m, scaled so that dt starts log-uniform in
        dt_range (memories of ~10 to ~1000 tokens), as Mamba's dt-bias init does. Only the starting
        point differs: the architecture and the exported tensors are the standard ones.
        """
        std = 0.02
        c = self.c
        for name, p in self.named_parameters():
            if name.endswith("norm.weight") or name.endswith(".D"):
                nn.init.ones_(p)
            elif name.endswith("z_bias") or name.endswith("conv1d.bias"):
                nn.init.zeros_(p)
            elif name.endswith("conv1d.weight"):
                with torch.no_grad():
                    p.uniform_(-1, 1, generator=generator).mul_(1 / math.sqrt(self.c.d_conv))
            else:
                s = std / math.sqrt(2 * self.c.n_layer) if name.endswith(("out_proj.weight", "down_proj.weight")) else std
                with torch.no_grad():
                    p.normal_(0, s, generator=generator)
        if dt_range is None:
            return
        with torch.no_grad():
            m = torch.randn(c.d_model, generator=generator)
            m /= m.norm()
            self.backbone.embedding.weight.add_(std * math.sqrt(c.d_model) * m)
            # u = RMSNorm(e) has about sqrt(D/2) along m when the shared and random parts are equal in norm
            along = math.sqrt(c.d_model / 2)
            lo, hi = math.log(dt_range[0]), math.log(dt_range[1])
            for blk in self.backbone.layers:
                H = c.n_v_heads
                dt = torch.exp(lo + (hi - lo) * torch.rand(H, generator=generator))
                a = dt + torch.log(-torch.expm1(-dt))  # softplus^-1(dt)
                w = blk.mixer.in_proj.weight[-H:]  # the a rows come last: xBC, z, a
                w.mul_(0.1).add_((a / along)[:, None] * m[None, :])

    def _logits(self, h):
        hn = self.backbone.final_layernorm(h)
        return hn @ self.head()[:self.c.vocab_size].to(hn.dtype).t()  # padded rows never become logits

    def forward(self, ids):
        """ids (batch, L) -> logits (batch, L, vocab_size)."""
        h = self.backbone.embedding(ids)
        for blk in self.backbone.layers:
            h = h + blk.mixer(blk.input_layernorm(h))
            h = h + blk.mlp(blk.post_attention_layernorm(h))
        return self._logits(h)

    def new_state(self, batch, dtype=torch.float32, device=None):
        c = self.c
        return [(torch.zeros(batch, c.conv_dim, c.d_conv - 1, dtype=dtype, device=device),
                 torch.zeros(batch, c.n_v_heads, c.headdim, c.d_state, dtype=dtype, device=device))
                for _ in range(c.n_layer)]

    def prefill(self, ids, chunk=64):
        """ids (batch, L), all of length L, from an empty state -> (logits (batch, L, V), state)."""
        h = self.backbone.embedding(ids)
        state = []
        for blk in self.backbone.layers:
            out, st = blk.mixer(blk.input_layernorm(h), return_state=True, chunk=chunk)
            state.append(st)
            h = h + out
            h = h + blk.mlp(blk.post_attention_layernorm(h))
        return self._logits(h), state

    def step(self, ids, state):
        """ids (batch,) -> logits (batch, V); advances state in place."""
        h = self.backbone.embedding(ids)
        for blk, st in zip(self.backbone.layers, state):
            h = h + blk.mixer.step(blk.input_layernorm(h), st)
            h = h + blk.mlp(blk.post_attention_layernorm(h))
        return self._logits(h)


def config_dict(vocab_size, d_model, n_layer, intermediate_size, d_state, n_v_heads, n_qk_heads, d_conv=4,
                chunk_size=128) -> dict:
    """A config.json in the released Llamba checkpoints' layout."""
    return {"model_type": "llamba", "vocab_size": vocab_size, "tie_embeddings": True, "pad_vocab_size_multiple": 8,
            "lm_head_bias": False, "d_model": d_model, "n_layer": n_layer, "resid_dropout": 0.0,
            "norm_epsilon": 1e-5,
            "mlp_cfg": {"intermediate_size": intermediate_size, "bias": False, "act_fn": "silu"},
            "ssm_cfg": {"d_state": d_state, "n_v_heads": n_v_heads, "n_qk_heads": n_qk_heads, "expand": 1,
                        "d_conv": d_conv, "chunk_size": chunk_size, "activation": "identity", "bias": False}}
