#!/usr/bin/env python3
"""Self-checks of the demo-model tools; exit status 0 = all passed. Needs numpy, and torch (1.13+) for the model checks.

  * model.py against the numpy reference (tools/reference/llamba_ref.py) on random configurations:
    training form, prefill (logits and state) and token-by-token steps, in float64;
  * the pre-tokenizer: the ASCII fast path and the Unicode scanner against each other, and against
    the `regex` package with the Llama 3 pattern when it is installed;
  * BPE: training is deterministic, encode/decode round trips, tokenizer.json reloads identically;
  * the task generator: held-out and training items are disjoint, every country keeps training
    phrasings, generation is deterministic, the checkers accept the expected answers.

    python3 llamba-engine/tools/demo-model/selftest.py
"""
from __future__ import annotations

import os
import random
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))

import bpe  # noqa: E402
import llamba_ref  # noqa: E402
import tasks  # noqa: E402

FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def test_model_against_reference():
    import torch
    from model import Llamba, config_dict
    torch.manual_seed(0)
    for cfgd in (config_dict(61, 32, 2, 48, 8, 4, 2),
                 config_dict(50, 24, 3, 40, 6, 6, 6, d_conv=3),
                 config_dict(37, 16, 1, 32, 4, 2, 1, d_conv=1)):
        cfg = llamba_ref.Config.from_dict(cfgd)
        m = Llamba(cfg).double()
        g = torch.Generator().manual_seed(1)
        m.init_weights(g)
        with torch.no_grad():  # larger weights than the init, so every term matters
            for name, p in m.named_parameters():
                if "norm" in name:
                    p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.3)
                elif name.endswith(("z_bias", "conv1d.bias", ".D")):
                    p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.5)
                elif "in_proj" in name:
                    p.mul_(20)
                else:
                    p.mul_(8)
        tensors = {k: v.numpy() for k, v in m.state_dict().items()}
        ref = llamba_ref.Model(cfg, tensors)
        ids = [int(v) for v in np.random.default_rng(2).integers(0, cfg.vocab_size, 13)]
        want, want_state = ref.forward_recurrent(ids)
        scale = np.abs(want).max()
        with torch.no_grad():
            got = m(torch.tensor([ids]))[0].numpy()
            check(np.abs(got - want).max() <= 1e-9 * scale, f"training form = reference (d_conv {cfg.d_conv}, G {cfg.n_qk_heads})")
            for chunk in (1, 4, 5):
                h = m.backbone.embedding(torch.tensor([ids]))
                for blk in m.backbone.layers:
                    h = h + blk.mixer(blk.input_layernorm(h), chunk=chunk)
                    h = h + blk.mlp(blk.post_attention_layernorm(h))
                check(np.abs(m._logits(h)[0].numpy() - want).max() <= 1e-9 * scale, f"chunks of {chunk} = reference")
            logits, state = m.prefill(torch.tensor([ids[:7]]), chunk=3)
            check(np.abs(logits[0].numpy() - want[:7]).max() <= 1e-9 * scale, "prefill logits = reference")
            rows = [m.step(torch.tensor([t]), state)[0].numpy() for t in ids[7:]]
            check(np.abs(np.stack(rows) - want[7:]).max() <= 1e-9 * scale, "prefill then steps = reference")
            for (conv, ssm), st in zip(state, want_state):
                check(np.abs(conv[0].numpy() - st.conv).sum() <= 1e-9 * (1 + np.abs(st.conv).sum())
                      and np.abs(ssm[0].numpy() - st.ssm).max() <= 1e-9 * (1 + np.abs(st.ssm).max()),
                      "final state = reference")
            s2 = m.new_state(1, dtype=torch.float64)
            rows = [m.step(torch.tensor([t]), s2)[0].numpy() for t in ids]
            check(np.abs(np.stack(rows) - want).max() <= 1e-9 * scale, "steps from empty = reference")


SAMPLES = ["Hello world", "I'm here, you're there; they'LL go. It's 1234567 o'clock!", "a  b   c\n\n  d \t\te\r\n",
           "   leading and trailing   ", "x\n \ny", "München ça va? naïve café", "日本語のテキスト 漢字123",
           "emoji 🦙🦙 done", "tabs\tand\u00a0nbsp\u2003em", "$100.00 + €5 = ?", "'s 'S 'Re 'vE", "\u0661\u0662\u0663\u0664",
           "line1\nline2\n\n\nline3", "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}",
           "    {\n        \"type\": \"function\"", "ends with space ", "\n", " ", "x\x1c\x1fy", "Ⅻ ½ ²", "ǅungla ǈ"]


def test_pre_tokenizer():
    for s in SAMPLES:
        if s.isascii():
            check(bpe._ASCII_RE.findall(s) == bpe._scan(s), f"ASCII path = scanner on {s[:20]!r}")
    rng = random.Random(3)
    alphabet = "ab Z9'sS\n\r\t .,!é日🦙\u00a0\u2003-"
    randoms = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 40))) for _ in range(2000)]
    ascii_alpha = "ab Z9'sStTlL\n\r\t\x0b .,!-_"
    randoms_ascii = ["".join(rng.choice(ascii_alpha) for _ in range(rng.randrange(1, 40))) for _ in range(2000)]
    check(all(bpe._ASCII_RE.findall(s) == bpe._scan(s) for s in randoms_ascii), "ASCII path = scanner on 2000 random ASCII strings")
    check(all("".join(bpe.pre_tokenize(s)) == s for s in SAMPLES + randoms), "pre-tokens cover the text")
    try:
        import regex
    except ImportError:
        print("skip pre-tokenizer vs `regex` (package not installed)")
        return
    pat = regex.compile(bpe.LLAMA3_PATTERN)
    bad = [s for s in SAMPLES + randoms + randoms_ascii if pat.findall(s) != bpe.pre_tokenize(s)]
    check(not bad, f"pre-tokenizer = regex package on {len(SAMPLES) + len(randoms) + len(randoms_ascii)} strings"
          + (f" (first mismatch {bad[0]!r}: {pat.findall(bad[0])} vs {bpe.pre_tokenize(bad[0])})" if bad else ""))


def test_bpe():
    gen = tasks.TaskGenerator()
    rng = tasks.SplitMix64(5)
    texts = []
    for i in range(300):
        ex = gen.example(tasks.FAMILIES[i % 5], rng, tasks.TRAIN)
        texts += [c for _, c in tasks.render_tools(ex.system, ex.messages, ex.tools)]
    m1, m2 = bpe.train(texts, 400), bpe.train(texts, 400)
    check(m1 == m2 and len(m1) == 144, f"BPE training deterministic and reaches the size ({len(m1)} merges)")
    check(not any(any(48 <= b <= 57 for b in a + b_) for a, b_ in m1), "no merge joins digits")
    tok = bpe.Tokenizer(m1)
    check(all(tok.decode(tok.encode(s)) == s for s in SAMPLES + texts[:50]), "decode(encode(s)) == s")
    with tempfile.TemporaryDirectory() as d:
        tok.save(os.path.join(d, "tokenizer.json"))
        tok2 = bpe.Tokenizer.load(os.path.join(d, "tokenizer.json"))
    check(all(tok.encode(s) == tok2.encode(s) for s in SAMPLES + texts[:50]), "tokenizer.json reloads identically")
    ex = gen.example("weather", tasks.SplitMix64(9), tasks.TRAIN)
    ids, spans = tok.chat_ids(tasks.render_tools(ex.system, ex.messages, ex.tools), False)
    check([tok.decode(ids[a:b]) for a, b in spans] == [c + "<|eot_id|>" for c in ex.expected()],
          "assistant spans hold the replies and <|eot_id|>")


def test_tasks():
    gen = tasks.TaskGenerator()
    t = gen.t
    caps = t["capital"]
    for country, _ in caps["facts"]:
        n_train = sum(not tasks.is_heldout(t, f"capital:{country}:{i}") for i in range(len(caps["templates"])))
        if n_train < 2:
            check(False, f"{country} keeps at least 2 training phrasings")
    check(len(gen.cities_by_split[tasks.EVAL]) >= 20, f"{len(gen.cities_by_split[tasks.EVAL])} held-out cities")
    ev = gen.eval_examples(500, 0)
    check([e.family for e in ev[:5]] == list(tasks.FAMILIES), "families in turn")
    check(all(tasks.is_heldout(t, e.key) for e in ev), "evaluation items are held out")
    rng = tasks.SplitMix64(11)
    tr = [gen.example(tasks.FAMILIES[i % 5], rng, tasks.TRAIN) for i in range(3000)]
    check(not any(tasks.is_heldout(t, e.key) for e in tr), "training items are not held out")
    check({e.key for e in tr}.isdisjoint({e.key for e in ev}), "no key in both")
    check([e.messages for e in gen.eval_examples(50, 0)] == [e.messages for e in ev[:50]], "generation is deterministic")
    check(all(tasks.check_reply(" " + e.expected()[-1] + "\n", e.expected()[-1]) for e in ev), "checker accepts answers")
    w = [e for e in ev if e.family == "weather"]
    check(all(tasks.check_call(e.expected()[0], e.expected()[0]) for e in w), "call checker accepts the calls")
    check(not tasks.check_call('{"name": "get_weather", "parameters": {"city": "X"}}', w[0].expected()[0]),
          "call checker rejects another city")
    check(any(e.tools for e in tr if e.family != "weather"), "tools are sometimes offered to other families")
    cc = tasks.TaskGenerator(copy_curriculum=True)
    rng = tasks.SplitMix64(12)
    tr2 = [cc.example(f, rng, tasks.TRAIN) for f in ("weather", "echo") * 500]
    check(not any(tasks.is_heldout(t, e.key) for e in tr2), "copy curriculum: no held-out item")
    made_up = [e for e in tr2 if e.family == "weather" and e.key[8:] not in t["weather"]["cities"]]
    check(0.65 < len(made_up) / 500 < 0.8, f"copy curriculum: {len(made_up)}/500 weather conversations name made-up cities")
    check(all(e.expected()[0] in e.messages[0][1] for e in tr2 if e.family == "echo"), "echo answers repeat the prompt")
    check([e.messages for e in cc.eval_examples(50, 0)] == [e.messages for e in ev[:50]],
          "copy curriculum leaves the evaluation prompts unchanged")


if __name__ == "__main__":
    test_pre_tokenizer()
    test_bpe()
    test_tasks()
    test_model_against_reference()
    print(f"{len(FAILURES)} failure(s)" if FAILURES else "all passed")
    sys.exit(1 if FAILURES else 0)
