"""Task families of the demo model: prompt generation, held-out split, answer checking.

The data (templates, word pools, facts, cities, system prompts) lives in tasks.json beside the Java
resources, so the Java evaluation (io.llamba.engine.demo.DemoTasks) reads the same file. The
generation below is mirrored draw for draw by DemoTasks: the same seed gives the same prompts in
both languages (DemoTasksTest checks a committed sample written by this module).

Held-out split: every item (an arithmetic pair, a word tuple, a (country, phrasing) pair, a city)
is evaluation-only when crc32(key) % 100 < heldout_percent. Training draws only the other items;
evaluation draws only these, so no evaluation prompt's item was ever trained on.
"""
from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
RESOURCES = os.path.normpath(os.path.join(HERE, "..", "..", "src", "main", "resources", "io", "llamba", "engine", "demo"))
TASKS_JSON = os.path.join(RESOURCES, "tasks.json")

FAMILIES = ("arithmetic", "reverse", "count", "capital", "weather")
TRAIN, EVAL = "train", "eval"
MASK64 = (1 << 64) - 1

# Llama 3.1 JSON tool-calling format, as io.llamba.engine.chat.Llama3Tools renders it (docs/tool-calling.md).
ENVIRONMENT = "Environment: ipython"
INSTRUCTION = ("Given the following functions, please respond with a JSON for a function call with its proper "
               "arguments that best answers the given prompt.\n\n"
               "Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its "
               "value}. Do not use variables.\n\n")


class SplitMix64:
    """The generator both languages share (Java: DemoTasks.SplitMix64)."""

    def __init__(self, seed: int):
        self.state = seed & MASK64

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        return self.next() % n


def item_rng(seed: int, index: int) -> SplitMix64:
    """The generator of evaluation prompt `index` for `seed` (independent of the other prompts)."""
    return SplitMix64((seed * 0x9E3779B97F4A7C15 + index) & MASK64)


def load_tasks(path: str = TASKS_JSON) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def is_heldout(tasks: dict, key: str) -> bool:
    return zlib.crc32(key.encode("utf-8")) % 100 < tasks["heldout_percent"]


@dataclass
class Tool:
    name: str
    description: str
    parameters: str  # JSON schema text

    def as_json_object(self) -> dict:
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": json.loads(self.parameters)}}


@dataclass
class Example:
    """One conversation. `messages` are (role, content) with the assistant turns holding the expected
    replies; in evaluation the assistant turns are generated instead. `tools` are offered when non-empty."""
    family: str
    key: str
    system: str
    tools: list
    messages: list = field(default_factory=list)

    def expected(self) -> list:
        return [c for r, c in self.messages if r == "assistant"]


def render_tools(system: str, messages: list, tools: list) -> list:
    """(role, content) messages ready for the chat template: system first when present, tools rendered in
    exactly as Llama3Tools.render does."""
    out = ([("system", system)] if system else []) + list(messages)
    if not tools:
        return out
    if out and out[0][0] == "system":
        out[0] = ("system", ENVIRONMENT + "\n\n" + out[0][1] if out[0][1] else ENVIRONMENT)
    else:
        out.insert(0, ("system", ENVIRONMENT))
    preamble = INSTRUCTION + "".join(json.dumps(t.as_json_object(), indent=4, ensure_ascii=False) + "\n\n"
                                     for t in tools)
    for i, (role, content) in enumerate(out):
        if role == "user":
            out[i] = ("user", preamble + content)
            return out
    out.append(("user", preamble.rstrip()))
    return out


def render_call(name: str, parameters: dict) -> str:
    """An assistant tool call in the history, as Llama3Tools.renderCalls writes it."""
    return json.dumps({"name": name, "parameters": parameters})


# --copy-curriculum (training only): made-up names that no model can memorize, so copying is the
# only way to get them right. Onset, vowel and coda give ~3000 syllables; names have 1 to 3.
_ONSETS = ["", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br",
           "ch", "cr", "dr", "gr", "kr", "pl", "pr", "sh", "st", "tr"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "ia", "ou"]
_CODAS = ["", "", "n", "r", "l", "s", "m", "k", "nd", "rt", "st"]
ECHO_TEMPLATES = ["Repeat after me: {text}", "Say exactly this: {text}", "Echo: {text}"]


def made_up_word(rng: SplitMix64) -> str:
    n = 1 + rng.below(3)
    return "".join(_ONSETS[rng.below(len(_ONSETS))] + _VOWELS[rng.below(len(_VOWELS))] + _CODAS[rng.below(len(_CODAS))]
                   for _ in range(n)).capitalize()


class TaskGenerator:
    def __init__(self, tasks: dict | None = None, copy_curriculum: bool = False):
        """copy_curriculum (training only; the released model uses it): 60% of the training weather
        conversations name made-up cities (made_up_word), and 30% of the rest tasks.json-syllable
        names as without it (~72% made up in all, against 30%); the auxiliary family "echo" (repeat
        a made-up phrase) is available."""
        self.copy_curriculum = copy_curriculum
        self.t = tasks if tasks is not None else load_tasks()
        w = self.t["weather"]
        self.cities_by_split = {s: [c for c in w["cities"] if is_heldout(self.t, "weather:" + c) == (s == EVAL)]
                                for s in (TRAIN, EVAL)}

    def _in_split(self, key: str, split: str) -> bool:
        return is_heldout(self.t, key) == (split == EVAL)

    def _tool(self, rng: SplitMix64) -> Tool:
        w = self.t["weather"]
        desc = w["descriptions"][rng.below(len(w["descriptions"]))]
        params = w["parameter_schemas"][rng.below(len(w["parameter_schemas"]))]
        return Tool(w["tool_name"], desc, params)

    def _words(self, rng: SplitMix64, cfg: dict) -> list:
        n = cfg["min_words"] + rng.below(cfg["max_words"] - cfg["min_words"] + 1)
        pool = self.t["words"]
        return [pool[rng.below(len(pool))] for _ in range(n)]

    def example(self, family: str, rng: SplitMix64, split: str) -> Example:
        t = self.t
        systems = t["systems"]
        system = systems[rng.below(len(systems))]
        if family == "arithmetic":
            cfg = t["arithmetic"]
            while True:
                op = "+-"[rng.below(2)]
                a = rng.below(cfg["max_operand"] + 1)
                b = rng.below(cfg["max_operand"] + 1)
                if op == "-" and a < b:
                    a, b = b, a
                key = f"arithmetic:{a}{op}{b}"
                if self._in_split(key, split):
                    break
            template = cfg["templates"][rng.below(len(cfg["templates"]))]
            c = a + b if op == "+" else a - b
            user = template.format(a=a, op=op, b=b)
            answer = cfg["answer"].format(a=a, op=op, b=b, c=c)
        elif family in ("reverse", "count"):
            cfg = t[family]
            while True:
                words = self._words(rng, cfg)
                key = family + ":" + " ".join(words)
                if self._in_split(key, split):
                    break
            template = cfg["templates"][rng.below(len(cfg["templates"]))]
            if family == "reverse":
                user = template.format(words=" ".join(words))
                answer = cfg["answer"].format(reversed=" ".join(reversed(words)))
            else:
                user = template.format(words=", ".join(words))
                answer = cfg["answer"].format(n=len(words))
        elif family == "capital":
            cfg = t["capital"]
            while True:
                f = rng.below(len(cfg["facts"]))
                ti = rng.below(len(cfg["templates"]))
                country, capital = cfg["facts"][f]
                key = f"capital:{country}:{ti}"
                if self._in_split(key, split):
                    break
            user = cfg["templates"][ti].format(country=country)
            answer = cfg["answer"].format(country=country, capital=capital)
        elif family == "weather":
            return self._weather(rng, split, system)
        elif family == "echo" and self.copy_curriculum and split == TRAIN:
            while True:
                text = " ".join(made_up_word(rng).lower() if rng.below(2) else made_up_word(rng)
                                for _ in range(1 + rng.below(3)))
                key = "echo:" + text
                if self._in_split(key, split):
                    break
            user = ECHO_TEMPLATES[rng.below(len(ECHO_TEMPLATES))].format(text=text)
            answer = text
        else:
            raise ValueError(f"unknown family {family!r}")
        tools = [self._tool(rng)] if rng.below(10) == 0 else []  # sometimes a tool is offered but not needed
        return Example(family, key, system, tools, [("user", user), ("assistant", answer)])

    def _weather(self, rng: SplitMix64, split: str, system: str) -> Example:
        w = self.t["weather"]
        if split == TRAIN and self.copy_curriculum and rng.below(10) < 6:
            while True:
                city = made_up_word(rng) + (" " + made_up_word(rng) if rng.below(5) == 0 else "")
                if self._in_split("weather:" + city, split) and city not in w["cities"]:
                    break
        elif split == TRAIN and rng.below(10) < 3:
            # Made-up names (training only) teach copying a name the model has never seen.
            while True:
                syl = w["syllables"]
                n = 2 + rng.below(2)
                city = "".join(syl[rng.below(len(syl))] for _ in range(n)).capitalize()
                if self._in_split("weather:" + city, split) and city not in w["cities"]:
                    break
        else:
            pool = self.cities_by_split[split]
            city = pool[rng.below(len(pool))]
        tool = self._tool(rng)
        template = w["templates"][rng.below(len(w["templates"]))]
        temperature = w["min_temperature"] + rng.below(w["max_temperature"] - w["min_temperature"] + 1)
        sky = w["skies"][rng.below(len(w["skies"]))]
        compact = rng.below(2) == 1
        result = {"temperature": temperature, "sky": sky}
        result_text = json.dumps(result, separators=(",", ":")) if compact else json.dumps(result)
        call = render_call(w["tool_name"], {"city": city})
        answer = w["answer"].format(temperature=temperature, sky=sky, city=city)
        messages = [("user", template.format(city=city)), ("assistant", call), ("ipython", result_text),
                    ("assistant", answer)]
        return Example("weather", "weather:" + city, system, [tool], messages)

    def eval_examples(self, n: int, seed: int) -> list:
        """The evaluation prompts of `eval-demo --n N --seed S`: families in turn, items from the held-out part."""
        return [self.example(FAMILIES[i % len(FAMILIES)], item_rng(seed, i), EVAL) for i in range(n)]


def check_call(reply: str, expected_call: str) -> bool:
    """Turn 1 of the tool family: one well-formed call of the right tool with the right argument."""
    try:
        got = json.loads(reply.strip())
        want = json.loads(expected_call)
    except ValueError:
        return False
    return isinstance(got, dict) and got.get("name") == want["name"] and got.get("parameters") == want["parameters"]


def check_reply(reply: str, expected: str) -> bool:
    return reply.strip() == expected
