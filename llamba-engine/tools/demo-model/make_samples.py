#!/usr/bin/env python3
"""Writes the committed samples that tie the Java side to these scripts (deterministic, ~1 s):

  * src/test/resources/demo/tokenizer-sample.json: strings and the ids bpe.py encodes them to with
    the bundled tokenizer.json (DemoTokenizerTest: the Java tokenizer must agree);
  * src/test/resources/demo/tasks-sample.json: evaluation prompts of a few seeds as tasks.py generates
    them, with their prompt ids (DemoTasksTest: DemoTasks must generate the same prompts, and
    Llama3Tools + ChatTemplate must render them to the same ids).

    python3 llamba-engine/tools/demo-model/make_samples.py
"""
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bpe  # noqa: E402
import tasks  # noqa: E402
from selftest import SAMPLES  # noqa: E402

TEST_RESOURCES = os.path.normpath(os.path.join(HERE, "..", "..", "src", "test", "resources", "demo"))
SEEDS = ((0, 25), (987654321, 10), (-5, 5))


def main():
    tok = bpe.Tokenizer.load(os.path.join(tasks.RESOURCES, "tokenizer.json"))
    gen = tasks.TaskGenerator()
    os.makedirs(TEST_RESOURCES, exist_ok=True)

    r = random.Random(11)
    alphabet = "ab Z9'sSlL\n\r\t .,!é日🦙\u00a0\u2003-{}\":Ωß"
    strings = list(SAMPLES) + ["".join(r.choice(alphabet) for _ in range(r.randrange(1, 50))) for _ in range(200)]
    for ex in gen.eval_examples(20, 3):
        strings += ["\n\n" + c for _, c in tasks.render_tools(ex.system, ex.messages, ex.tools)]
    with open(os.path.join(TEST_RESOURCES, "tokenizer-sample.json"), "w", encoding="utf-8") as f:
        json.dump({"about": "ids of bpe.py (tools/demo-model) with the bundled demo tokenizer.json; written by make_samples.py",
                   "items": [{"text": s, "ids": tok.encode(s)} for s in strings]}, f, ensure_ascii=False, indent=0)
        f.write("\n")

    sets = []
    for seed, n in SEEDS:
        items = []
        for ex in gen.eval_examples(n, seed):
            first = tok.chat_ids(tasks.render_tools(ex.system, ex.messages[:1], ex.tools), True)[0]
            item = {"family": ex.family, "key": ex.key, "system": ex.system,
                    "tools": [{"name": t.name, "description": t.description, "parameters": t.parameters} for t in ex.tools],
                    "user": ex.messages[0][1], "answer": ex.expected()[-1], "first_ids": first}
            if ex.family == "weather":
                item["city"] = ex.key.split(":", 1)[1]
                item["tool_result"] = ex.messages[2][1]
                item["second_ids"] = tok.chat_ids(tasks.render_tools(ex.system, ex.messages[:3], ex.tools), True)[0]
            items.append(item)
        sets.append({"seed": seed, "n": n, "items": items})
    with open(os.path.join(TEST_RESOURCES, "tasks-sample.json"), "w", encoding="utf-8") as f:
        json.dump({"about": "evaluation prompts of tasks.py (tools/demo-model) and their ids; written by make_samples.py",
                   "sets": sets}, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print(f"wrote {len(strings)} tokenizer strings and {sum(n for _, n in SEEDS)} prompts to {TEST_RESOURCES}")


if __name__ == "__main__":
    main()
