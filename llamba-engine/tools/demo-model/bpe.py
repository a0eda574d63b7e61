"""A small byte-level BPE in the Llama 3 style: trainer, encoder, decoder and tokenizer.json writer.

Pre-tokenization is the Llama 3 split regex
    (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+
written out as a scanner (Python's re has no \\p{L}; the `regex` package is not needed): letters and
numbers by Unicode general category, \\s as the White_Space property. ASCII text takes an `re` fast
path that is the same pattern with ASCII classes. selftest.py checks both against `regex` when it is
installed, and the Java engine (io.llamba.engine.tokenizer) must encode the same ids (DemoTokenizerTest).

Tokens: ids 0..255 are the bytes (by value), then one id per merge, then the 256 Llama 3 special
tokens in Llama 3 order. Merges never join digits, so every number is written digit by digit
(arithmetic is then digit-wise for the model).
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# The same pattern over ASCII text: \p{L} = [A-Za-z], \p{N} = [0-9], \s = [\t\n\x0b\x0c\r ].
_L, _N, _S = "A-Za-z", "0-9", r"\t\n\x0b\x0c\r "
_ASCII_RE = re.compile(
    rf"'(?:[sStTmMdD]|[rR][eE]|[vV][eE]|[lL][lL])|[^\r\n{_L}{_N}]?[{_L}]+|[{_N}]{{1,3}}"
    rf"| ?[^{_S}{_L}{_N}]+[\r\n]*|[{_S}]*[\r\n]+|[{_S}]+(?![^{_S}])|[{_S}]+")

WHITE_SPACE = frozenset([0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
                         0x2028, 0x2029, 0x202F, 0x205F, 0x3000])

SPECIAL_TOKENS = (["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                   "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
                   "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]
                  + [f"<|reserved_special_token_{i}|>" for i in range(3, 248)])
assert len(SPECIAL_TOKENS) == 256


def _kind(ch: str) -> str:
    if ch in "\r\n":
        return "n"
    if ord(ch) in WHITE_SPACE:
        return "s"
    cat = unicodedata.category(ch)
    return "l" if cat[0] == "L" else "d" if cat[0] == "N" else "o"


def pre_tokenize(text: str) -> list:
    """Splits text like the Llama 3 regex (leftmost-first alternation)."""
    if text.isascii():
        return _ASCII_RE.findall(text)
    return _scan(text)


def _scan(text: str) -> list:
    kinds = [_kind(c) for c in text]
    n, i, out = len(text), 0, []
    ws = ("s", "n")
    while i < n:
        k = kinds[i]
        j = -1
        # 1. contractions, ASCII case-insensitive
        if text[i] == "'" and i + 1 < n:
            for c in ("s", "t", "re", "ve", "m", "ll", "d"):
                if text[i + 1:i + 1 + len(c)].lower() == c:
                    j = i + 1 + len(c)
                    break
        # 2. [^\r\n\p{L}\p{N}]?\p{L}+
        if j < 0:
            s = i + 1 if (k in ("o", "s") and i + 1 < n and kinds[i + 1] == "l") else i
            if kinds[s] == "l":
                j = s
                while j < n and kinds[j] == "l":
                    j += 1
        # 3. \p{N}{1,3}
        if j < 0 and k == "d":
            j = i
            while j < n and j < i + 3 and kinds[j] == "d":
                j += 1
        # 4. ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        if j < 0:
            s = i + 1 if text[i] == " " else i
            if s < n and kinds[s] == "o":
                j = s
                while j < n and kinds[j] == "o":
                    j += 1
                while j < n and kinds[j] == "n":
                    j += 1
        if j < 0 and k in ws:
            e = i
            while e < n and kinds[e] in ws:
                e += 1
            last_newline = max((p for p in range(i, e) if kinds[p] == "n"), default=-1)
            if last_newline >= 0:  # 5. \s*[\r\n]+
                j = last_newline + 1
            elif e == n:  # 6. \s+(?!\S) at the end of the text
                j = e
            elif e - 1 > i:  # 6. backed off by one so that a space is followed by whitespace
                j = e - 1
            else:  # 7. \s+
                j = e
        assert j > i, (text, i)
        out.append(text[i:j])
        i = j
    return out


def bytes_to_unicode() -> dict:
    """GPT-2's byte-level alphabet: every byte as a printable character (as Hugging Face ByteLevel)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + list(
        range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_CHAR = bytes_to_unicode()
CHAR_BYTE = {c: b for b, c in BYTE_CHAR.items()}


def _has_digit(tok: bytes) -> bool:
    return any(48 <= b <= 57 for b in tok)


def train(texts, vocab_size: int, min_count: int = 2) -> list:
    """Learns merges (pairs of byte strings) until there are vocab_size regular tokens or no pair occurs
    min_count times. Ties go to the smallest pair (bytes order), so training is deterministic."""
    words = Counter()
    for t in texts:
        for p in pre_tokenize(t):
            words[p.encode("utf-8")] += 1
    seqs = [[bytes([b]) for b in w] for w in words]
    freqs = list(words.values())
    merges = []
    while 256 + len(merges) < vocab_size:
        pairs = Counter()
        for seq, f in zip(seqs, freqs):
            for a, b in zip(seq, seq[1:]):
                if not (_has_digit(a) or _has_digit(b)):
                    pairs[(a, b)] += f
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        if best[1] < min_count:
            break
        (a, b), _ = best
        merges.append((a, b))
        ab = a + b
        for s, seq in enumerate(seqs):
            if len(seq) < 2:
                continue
            out, k = [], 0
            while k < len(seq):
                if k + 1 < len(seq) and seq[k] == a and seq[k + 1] == b:
                    out.append(ab)
                    k += 2
                else:
                    out.append(seq[k])
                    k += 1
            seqs[s] = out
    return merges


class Tokenizer:
    def __init__(self, merges: list):
        self.merges = [(bytes(a), bytes(b)) for a, b in merges]
        self.id_of = {bytes([b]): b for b in range(256)}
        for a, b in self.merges:
            if a + b in self.id_of:
                raise ValueError(f"merge {a!r} + {b!r} gives a token that already exists")
            self.id_of[a + b] = len(self.id_of)
        self.bytes_of = {i: t for t, i in self.id_of.items()}
        self.rank = {m: r for r, m in enumerate(self.merges)}
        self.n_regular = len(self.id_of)
        self.special_id = {name: self.n_regular + i for i, name in enumerate(SPECIAL_TOKENS)}
        self.special_name = {i: name for name, i in self.special_id.items()}
        self.vocab_size = self.n_regular + len(SPECIAL_TOKENS)
        self._cache = {}

    def _bpe(self, piece: bytes) -> list:
        parts = [bytes([b]) for b in piece]
        while len(parts) > 1:
            best, best_rank = None, None
            for k in range(len(parts) - 1):
                r = self.rank.get((parts[k], parts[k + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = k, r
            if best is None:
                break
            a, b = parts[best], parts[best + 1]
            out, k = [], 0
            while k < len(parts):  # merge every occurrence of the best pair, left to right
                if k + 1 < len(parts) and parts[k] == a and parts[k + 1] == b:
                    out.append(a + b)
                    k += 2
                else:
                    out.append(parts[k])
                    k += 1
            parts = out
        return [self.id_of[p] for p in parts]

    def encode(self, text: str) -> list:
        """Plain text to ids; special-token text stays plain text (as Tokenizer.encode in Java)."""
        ids = []
        for p in pre_tokenize(text):
            got = self._cache.get(p)
            if got is None:
                got = self._bpe(p.encode("utf-8"))
                if len(self._cache) < 200000:
                    self._cache[p] = got
            ids.extend(got)
        return ids

    def decode(self, ids) -> str:
        return b"".join(self.special_name[i].encode() if i in self.special_name else self.bytes_of[i]
                        for i in ids).decode("utf-8", errors="replace")

    def token_text(self, i: int) -> str:
        return self.special_name.get(i) or "".join(BYTE_CHAR[b] for b in self.bytes_of[i])

    def chat_ids(self, messages, add_generation_prompt: bool):
        """ids of a chat exactly as io.llamba.engine.tokenizer.ChatTemplate.encode builds them, and for
        each assistant message the (start, end) span of its content tokens plus <|eot_id|>."""
        s = self.special_id
        ids, spans = [s["<|begin_of_text|>"]], []
        nl = self.encode("\n\n")
        for role, content in messages:
            ids += [s["<|start_header_id|>"]] + self.encode(role) + [s["<|end_header_id|>"]]
            body = self.encode("\n\n" + content)
            if role == "assistant":
                if body[:len(nl)] != nl:
                    raise ValueError(f"assistant content {content[:30]!r} does not start a new pre-token")
                ids += nl
                start = len(ids)
                ids += body[len(nl):] + [s["<|eot_id|>"]]
                spans.append((start, len(ids)))
            else:
                ids += body + [s["<|eot_id|>"]]
        if add_generation_prompt:
            ids += [s["<|start_header_id|>"]] + self.encode("assistant") + [s["<|end_header_id|>"]] + nl
        return ids, spans

    def to_json(self) -> dict:
        """Hugging Face tokenizer.json (loads with `tokenizers` and with the Java engine)."""
        vocab = {self.token_text(i): i for i in range(self.n_regular)}
        merges = [" ".join("".join(BYTE_CHAR[x] for x in part) for part in m) for m in self.merges]
        added = [{"id": i, "content": name, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for name, i in self.special_id.items()]
        bos = "<|begin_of_text|>"
        return {
            "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
            "post_processor": {"type": "Sequence", "processors": [
                {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
                {"type": "TemplateProcessing",
                 "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                 "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                          {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                 "special_tokens": {bos: {"id": bos, "ids": [self.special_id[bos]], "tokens": [bos]}}}]},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                      "ignore_merges": False, "vocab": vocab, "merges": merges},
        }

    def save(self, path: str):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, ensure_ascii=False, indent=1)
            f.write("\n")

    @staticmethod
    def load(path: str) -> "Tokenizer":
        with open(path, encoding="utf-8") as f:
            model = json.load(f)["model"]
        merges = []
        for m in model["merges"]:
            a, b = m.split(" ") if isinstance(m, str) else m
            merges.append((bytes(CHAR_BYTE[c] for c in a), bytes(CHAR_BYTE[c] for c in b)))
        tok = Tokenizer(merges)
        for text, i in model["vocab"].items():
            if tok.id_of.get(bytes(CHAR_BYTE[c] for c in text)) != i:
                raise ValueError(f"{path}: vocab entry {text!r} -> {i} does not follow the merges")
        return tok
