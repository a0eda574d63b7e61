#!/usr/bin/env python3
"""Where the weather (tool-calling) family goes wrong, turn by turn, for cities seen in training,
made-up names (as in training) and held-out cities. Runs the exported model in PyTorch (float32,
greedy, the same decoding as train.py's evaluation), on the CPU in about a minute.

    python3 llamba-engine/tools/demo-model/diagnose.py [--model DIR] [--n 40]

DIR defaults to the bundled model (src/main/resources/io/llamba/engine/demo).
"""
import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bpe  # noqa: E402
import tasks  # noqa: E402
import train  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=tasks.RESOURCES)
    ap.add_argument("--n", type=int, default=40, help="conversations per group")
    args = ap.parse_args()
    tok = bpe.Tokenizer.load(os.path.join(args.model, "tokenizer.json"))
    model = train.load_exported(args.model, torch.float32, "cpu")
    gen = tasks.TaskGenerator()
    stop = {tok.special_id[s] for s in ("<|eot_id|>", "<|end_of_text|>", "<|eom_id|>")}

    def replies(exs, upto):
        prompts = [tok.chat_ids(tasks.render_tools(ex.system, ex.messages[:upto], ex.tools), True)[0] for ex in exs]
        outs, _ = train.greedy(model, prompts, stop)
        return [train.reply_text(tok, o) for o in outs]

    rng = tasks.SplitMix64(4242)
    seen, made_up = [], []
    while len(seen) < args.n or len(made_up) < args.n:
        ex = gen.example("weather", rng, tasks.TRAIN)
        (seen if ex.key[len("weather:"):] in gen.t["weather"]["cities"] else made_up).append(ex)
    heldout = [e for e in gen.eval_examples(5 * args.n, 0) if e.family == "weather"]
    print("weather family, greedy; turn 2 is given the right call in the history")
    for name, exs in (("cities seen in training", seen[:args.n]), ("made-up names (training kind)", made_up[:args.n]),
                      ("held-out cities", heldout)):
        r1 = replies(exs, 1)
        r2 = replies(exs, 3)
        calls = sum(tasks.check_call(r, e.expected()[0]) for e, r in zip(exs, r1))
        result = sum(r.startswith("It is {temperature} degrees and {sky} in ".format(**json.loads(e.messages[2][1])))
                     for e, r in zip(exs, r2))
        whole = sum(tasks.check_reply(r, e.expected()[1]) for e, r in zip(exs, r2))
        print(f"{name:<30} turn 1 right call {calls}/{len(exs)}; turn 2 temperature and sky {result}/{len(exs)}, "
              f"whole answer (city too) {whole}/{len(exs)}")
        for e, a, b in list(zip(exs, r1, r2))[:2]:
            print(f"    {e.key}: {a} | {b}")


if __name__ == "__main__":
    main()
