#!/usr/bin/env python3
"""Checks the committed Llama fixtures with numpy alone (no torch):

  * each expected.json comes from transformers (not a provisional llama_ref run), has the shape the
    Java tests read, and agrees with llama_ref.py run on the stored weights (two independent
    implementations, to ~1e-7 relative; transformers computes RMSNorm and RoPE angles in float32);
  * a float32 llama_ref stays far inside the tolerance (it is reachable by a float32 engine);
  * each deliberate bug of llama_ref.BUGS moves the logits beyond the tolerance on at least one
    fixture, so the fixtures can tell a correct engine from one with that bug.

    python3 llamba-engine/tools/llama-reference/selftest.py [--fixtures DIR]

Exit status 0 when everything holds.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import llama_ref as ref  # noqa: E402
import make_fixtures as mk  # noqa: E402


def load_expected(d):
    with open(os.path.join(d, "expected.json")) as f:
        e = json.load(f)
    seqs = []
    for s in e["sequences"]:
        positions = s.get("positions", list(range(len(s["ids"]))))
        logits = np.array(s["logits"], dtype=np.float64)
        assert logits.shape == (len(positions), e["vocab_size"]), (d, logits.shape)
        seqs.append((s["ids"], positions, logits))
    return e, seqs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", default=mk.DEFAULT_OUT)
    ap.add_argument("--allow-provisional", action="store_true", help="accept llama_ref-made fixtures (development)")
    args = ap.parse_args(argv)
    names = sorted(n for n in os.listdir(args.fixtures) if os.path.isdir(os.path.join(args.fixtures, n)))
    expected_names = sorted(f[0] for f in mk.FIXTURES)
    failures = []
    if names != expected_names:
        failures.append(f"fixtures {names}, make_fixtures.py defines {expected_names}")
    caught = {b: [] for b in ref.BUGS}
    for name in names:
        d = os.path.join(args.fixtures, name)
        e, seqs = load_expected(d)
        if not e["reference"].startswith("transformers") and not args.allow_provisional:
            failures.append(f"{name}: expected.json is not from transformers ({e['reference']})")
        model = ref.Model.load(d)
        m32 = ref.Model.load(d, dtype=np.float32)
        agree, used32 = 0.0, 0.0
        for ids, positions, want in seqs:
            got = model.forward(ids)[0][positions]
            agree = max(agree, mk.rel_diff(want, got))
            used32 = max(used32, mk.tolerance_used(want, m32.forward(ids)[0][positions]))
        ok = agree <= mk.NUMPY_AGREE and used32 <= 0.25
        print(f"{name:20s} llama_ref agrees to {agree:.1e} relative; float32 llama_ref uses {used32:.1%} of the "
              f"tolerance {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(f"{name}: agreement {agree:.1e}, float32 uses {used32:.0%}")
        for bug in ref.BUGS:
            bad = ref.Model.load(d, bug=bug)
            # in runs of 8 tokens, as chunked prefill and decoding feed an engine (a correct model gives the same)
            worst = max(mk.tolerance_used(want, bad.forward_chunks(ids, 8)[0][positions]) for ids, positions, want in seqs)
            caught[bug].append((worst, name))
    print("deliberate bugs, worst tolerance multiple over the fixtures:")
    for bug, results in caught.items():
        worst, where = max(results)
        verdict = "caught" if worst > 1 else "NOT CAUGHT"
        print(f"  {bug:22s} {worst:10.1f}x  ({where}) {verdict}")
        if worst <= 1:
            failures.append(f"bug {bug} is not caught by any fixture")
    for f in failures:
        print("FAIL:", f)
    print("selftest", "passed" if not failures else f"failed ({len(failures)})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
