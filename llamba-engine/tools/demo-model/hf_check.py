#!/usr/bin/env python3
"""Checks a demo tokenizer against Hugging Face's own libraries (where `tokenizers` and
`transformers` are installed, e.g. the GPU machine; not needed otherwise):

  * `tokenizers` loads tokenizer.json and encodes every sample string and a few thousand training
    conversations to the same ids as bpe.py;
  * `transformers` renders conversations (tools, tool calls and results included) with the
    chat_template of tokenizer_config.json to the same text as tasks.render_tools + the Llama 3
    chat format (what io.llamba.engine.chat.Llama3Tools and ChatTemplate produce).

    python3 hf_check.py MODEL_DIR      (a directory with tokenizer.json and tokenizer_config.json)
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


def render_text(messages, add_generation_prompt):
    s = "<|begin_of_text|>" + "".join(f"<|start_header_id|>{r}<|end_header_id|>\n\n{c}<|eot_id|>" for r, c in messages)
    return s + ("<|start_header_id|>assistant<|end_header_id|>\n\n" if add_generation_prompt else "")


def main(model_dir):
    from tokenizers import Tokenizer as HfTokenizer
    ours = bpe.Tokenizer.load(os.path.join(model_dir, "tokenizer.json"))
    hf = HfTokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    gen = tasks.TaskGenerator()
    rng = tasks.SplitMix64(77)
    texts = list(SAMPLES)
    r = random.Random(5)
    alphabet = "ab Z9'sS\n\r\t .,!é日🦙\u00a0\u2003-{}\":"
    texts += ["".join(r.choice(alphabet) for _ in range(r.randrange(1, 60))) for _ in range(3000)]
    exs = [gen.example(tasks.FAMILIES[i % 5], rng, tasks.TRAIN) for i in range(2000)]
    exs += gen.eval_examples(500, 0)
    for ex in exs:
        texts += ["\n\n" + c for _, c in tasks.render_tools(ex.system, ex.messages, ex.tools)]
    bad = [t for t in texts if hf.encode(t, add_special_tokens=False).ids != ours.encode(t)]
    print(f"tokenizers {__import__('tokenizers').__version__}: {len(texts) - len(bad)}/{len(texts)} strings encode identically")
    for t in bad[:5]:
        print("  MISMATCH", repr(t[:80]), hf.encode(t, add_special_tokens=False).ids[:20], ours.encode(t)[:20])

    from transformers import PreTrainedTokenizerFast
    with open(os.path.join(model_dir, "tokenizer_config.json")) as f:
        cfg = json.load(f)
    tk = PreTrainedTokenizerFast(tokenizer_file=os.path.join(model_dir, "tokenizer.json"),
                                 bos_token=cfg["bos_token"], eos_token=cfg["eos_token"])
    tk.chat_template = cfg["chat_template"]
    n_bad = 0
    for ex in exs[:300] + exs[-100:]:
        msgs = [{"role": "system", "content": ex.system}] if ex.system else []
        for role, content in ex.messages:
            if role == "assistant" and ex.family == "weather" and content.startswith("{"):
                call = json.loads(content)
                msgs.append({"role": "assistant", "tool_calls": [{"type": "function", "function": {
                    "name": call["name"], "arguments": call["parameters"]}}]})
            elif role == "ipython":
                msgs.append({"role": "tool", "content": content})
            else:
                msgs.append({"role": role, "content": content})
        tools = [t.as_json_object() for t in ex.tools] or None
        got = tk.apply_chat_template(msgs, tools=tools, tokenize=False, add_generation_prompt=False)
        want = render_text(tasks.render_tools(ex.system, ex.messages, ex.tools), False)
        if got != want:
            n_bad += 1
            if n_bad <= 3:
                print("  TEMPLATE MISMATCH\n", repr(got[:600]), "\n", repr(want[:600]))
    print(f"transformers {__import__('transformers').__version__}: chat_template renders "
          f"{400 - n_bad}/400 conversations identically")
    return 0 if not bad and not n_bad else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
