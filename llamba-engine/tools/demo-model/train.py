#!/usr/bin/env python3
"""Trains the embedded demo model end to end, deterministically from --seed:

  1. the tokenizer: byte-level BPE on training-split conversations (bpe.py);
  2. the data: conversations of every task family (tasks.py), training split only;
  3. the model: Llamba (model.py), next-token loss on the assistant replies;
  4. the export, in the Hugging Face layout the Java engine loads: config.json, model.safetensors
     (BF16), tokenizer.json, tokenizer_config.json;
  5. the checks, on the weights as exported (BF16 read back): greedy accuracy on held-out prompts
     (the same prompts `eval-demo --n N --seed S` generates in Java) and a greedy sample, computed in
     float64, that the Java engine must reproduce token for token (DemoGreedyParityTest).

The released model (src/main/resources/io/llamba/engine/demo) was made on one H200 by

    python3 llamba-engine/tools/demo-model/train.py --out /tmp/demo --device cuda

and the same command with --device cpu (the default when no GPU) runs anywhere, slowly.
`--preset tiny` trains a small model in a minute on a CPU, for trying the pipeline.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing as mp
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))

import bpe  # noqa: E402
import tasks  # noqa: E402
from llamba_ref import Config, read_checkpoint, write_safetensors  # noqa: E402
from model import Llamba, config_dict  # noqa: E402

PRESETS = {
    # 4.29M parameters, 8.6 MB in BF16
    "demo": dict(d_model=256, n_layer=6, intermediate_size=512, d_state=64, n_v_heads=8, n_qk_heads=2,
                 vocab=1024, steps=3600, batch_tokens=65536, lr=2e-3, examples=600000),
    "tiny": dict(d_model=64, n_layer=2, intermediate_size=128, d_state=16, n_v_heads=4, n_qk_heads=2,
                 vocab=512, steps=150, batch_tokens=4096, lr=3e-3, examples=6000),
}
FAMILY_WEIGHTS = {"arithmetic": 25, "reverse": 20, "count": 10, "capital": 15, "weather": 30}
# --copy-curriculum: more weather, plus the training-only echo family (tasks.TaskGenerator)
COPY_CURRICULUM_WEIGHTS = {"arithmetic": 20, "reverse": 15, "count": 8, "capital": 12, "weather": 35, "echo": 10}
TOKENIZER_EXAMPLES = 20000
MAX_NEW_TOKENS = 48
EVAL_SEED = 0  # eval-demo's default seed


def log(*a):
    print(*a, flush=True)


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------

def conversations(gen: tasks.TaskGenerator, rng: tasks.SplitMix64, n: int, weights=None):
    fams = [f for f, w in (weights or FAMILY_WEIGHTS).items() for _ in range(w)]
    for _ in range(n):
        ex = gen.example(fams[rng.below(len(fams))], rng, tasks.TRAIN)
        yield ex


def train_tokenizer(gen, seed, vocab, weights=None) -> bpe.Tokenizer:
    texts = ["system", "user", "assistant", "ipython"]
    for ex in conversations(gen, tasks.SplitMix64(seed * 7919 + 1), TOKENIZER_EXAMPLES, weights):
        texts += ["\n\n" + c for _, c in tasks.render_tools(ex.system, ex.messages, ex.tools)]
    return bpe.Tokenizer(bpe.train(texts, vocab))


_WORKER = {}


def _init_worker(merges, weights, copy_curriculum):
    _WORKER["tok"] = bpe.Tokenizer(merges)
    _WORKER["gen"] = tasks.TaskGenerator(copy_curriculum=copy_curriculum)
    _WORKER["weights"] = weights


def _shard(args):
    shard_seed, n = args
    tok, gen = _WORKER["tok"], _WORKER["gen"]
    out = []
    for ex in conversations(gen, tasks.SplitMix64(shard_seed), n, _WORKER["weights"]):
        ids, spans = tok.chat_ids(tasks.render_tools(ex.system, ex.messages, ex.tools), False)
        target = np.zeros(len(ids), dtype=bool)
        for a, b in spans:
            target[a:b] = True
        out.append((np.asarray(ids, dtype=np.int16), target))
    return out


def make_data(tok, seed, n, workers, weights, copy_curriculum=False):
    shards = 64
    jobs = [(seed * 1_000_003 + 17 + s, n // shards + (1 if s < n % shards else 0)) for s in range(shards)]
    if workers > 1:
        with mp.get_context("fork").Pool(workers, _init_worker, (tok.merges, weights, copy_curriculum)) as pool:
            parts = pool.map(_shard, jobs)
    else:
        _init_worker(tok.merges, weights, copy_curriculum)
        parts = [_shard(j) for j in jobs]
    return [e for p in parts for e in p]


def make_batches(data, batch_tokens, rng: np.random.RandomState):
    """Batches of similar lengths (little padding), at most batch_tokens padded tokens each, in random order."""
    lengths = np.array([len(ids) for ids, _ in data])
    order = np.lexsort((rng.random_sample(len(data)), lengths))
    batches, cur, cur_max = [], [], 0
    for i in order:
        L = lengths[i]
        if cur and max(cur_max, L) * (len(cur) + 1) > batch_tokens:
            batches.append(cur)
            cur, cur_max = [], 0
        cur.append(i)
        cur_max = max(cur_max, L)
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


def collate(data, idx, device):
    L = max(len(data[i][0]) for i in idx)
    ids = np.zeros((len(idx), L), dtype=np.int64)
    labels = np.full((len(idx), L), -100, dtype=np.int64)
    for r, i in enumerate(idx):
        x, t = data[i]
        ids[r, :len(x)] = x
        lab = np.where(t, x, -100)
        labels[r, :len(x) - 1] = lab[1:]  # position p predicts token p + 1
    return torch.from_numpy(ids).to(device), torch.from_numpy(labels).to(device)


# ---------------------------------------------------------------------------------------------
# generation and evaluation
# ---------------------------------------------------------------------------------------------

@torch.no_grad()
def greedy(model, prompts, stop_ids, max_new=MAX_NEW_TOKENS, dtype=torch.float32, device="cpu"):
    """Greedy continuations of many prompts at once, token by token from an empty state (as an engine
    decodes): row b feeds its prompt, then its own argmax, until a stop id or max_new tokens."""
    B = len(prompts)
    lens = [len(p) for p in prompts]
    T = max(lens) + max_new
    feed = torch.zeros(B, T, dtype=torch.long)
    for b, p in enumerate(prompts):
        feed[b, :len(p)] = torch.tensor(p)
    feed = feed.to(device)
    lens_t = torch.tensor(lens, device=device)
    state = model.new_state(B, dtype=dtype, device=device)
    outs = [[] for _ in range(B)]
    margins = [math.inf] * B
    done = torch.zeros(B, dtype=torch.bool, device=device)
    stop = torch.tensor(sorted(stop_ids), device=device)
    cur = feed[:, 0]
    for t in range(T - 1):
        logits = model.step(cur, state)
        nxt = logits.argmax(-1)
        gen_now = (lens_t - 1 <= t) & ~done
        if gen_now.any():
            top2 = logits.topk(2, dim=-1).values
            margin = (top2[:, 0] - top2[:, 1]).tolist()
            nl = nxt.tolist()
            for b in gen_now.nonzero().flatten().tolist():
                outs[b].append(nl[b])
                margins[b] = min(margins[b], margin[b])
            finished = gen_now & (torch.isin(nxt, stop) | (t + 2 - lens_t >= max_new))
            done |= finished
            if bool(done.all()):
                break
        prompt_tok = feed[:, t + 1]
        cur = torch.where(lens_t > t + 1, prompt_tok, nxt)
    return outs, margins


def reply_text(tok, ids):
    stop = {tok.special_id[s] for s in ("<|eot_id|>", "<|end_of_text|>", "<|eom_id|>")}
    if ids and ids[-1] in stop:
        ids = ids[:-1]
    return tok.decode(ids)


def evaluate(model, tok, gen, n, seed, device, dtype=torch.float32):
    """Accuracy on eval-demo's prompts (same generator and checker as the Java command)."""
    exs = gen.eval_examples(n, seed)
    stop_ids = {tok.special_id[s] for s in ("<|eot_id|>", "<|end_of_text|>", "<|eom_id|>")}

    def prompt(ex, msgs):
        return tok.chat_ids(tasks.render_tools(ex.system, msgs, ex.tools), True)[0]

    first = [prompt(ex, ex.messages[:1]) for ex in exs]
    outs, _ = greedy(model, first, stop_ids, device=device, dtype=dtype)
    replies = [reply_text(tok, o) for o in outs]
    ok = []
    second_idx, second = [], []
    for i, ex in enumerate(exs):
        if ex.family != "weather":
            ok.append(tasks.check_reply(replies[i], ex.expected()[0]))
        else:
            good = tasks.check_call(replies[i], ex.expected()[0])
            ok.append(good)
            if good:
                call = json.loads(replies[i].strip())
                msgs = [ex.messages[0], ("assistant", tasks.render_call(call["name"], call["parameters"])), ex.messages[2]]
                second_idx.append(i)
                second.append(prompt(ex, msgs))
    if second:
        outs2, _ = greedy(model, second, stop_ids, device=device, dtype=dtype)
        for i, o in zip(second_idx, outs2):
            ok[i] = tasks.check_reply(reply_text(tok, o), exs[i].expected()[1])
    per = {}
    for ex, good in zip(exs, ok):
        c = per.setdefault(ex.family, [0, 0])
        c[0] += int(good)
        c[1] += 1
    return per, sum(ok), len(ok), [(ex, r, g) for ex, r, g in zip(exs, replies, ok)]


def format_accuracy(per, correct, total):
    lines = [f"{f:<11} {c / t:.3f} ({c}/{t})" for f, (c, t) in per.items()]
    lines.append(f"accuracy {correct / total:.3f} ({correct}/{total})")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------------

CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- set has_tools = tools is defined and tools is not none and tools | length > 0 %}"
    "{%- set ns = namespace(user_done=false) %}"
    "{%- if has_tools %}"
    "{%- if messages and messages[0]['role'] == 'system' %}"
    "{%- set sys = messages[0]['content'] %}{%- set messages = messages[1:] %}"
    "{%- else %}{%- set sys = '' %}{%- endif %}"
    "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' + ('" + tasks.ENVIRONMENT + "\\n\\n' + sys if sys else '"
    + tasks.ENVIRONMENT + "') + '<|eot_id|>' }}"
    "{%- endif %}"
    "{%- for m in messages %}"
    "{%- set role = 'ipython' if m['role'] == 'tool' else m['role'] %}"
    "{{- '<|start_header_id|>' + role + '<|end_header_id|>\\n\\n' }}"
    "{%- if has_tools and role == 'user' and not ns.user_done %}"
    "{%- set ns.user_done = true %}"
    "{{- " + json.dumps(tasks.INSTRUCTION) + " }}"
    "{%- for t in tools %}{{- t | tojson(indent=4) + '\\n\\n' }}{%- endfor %}"
    "{%- endif %}"
    "{%- if role == 'assistant' and m['tool_calls'] is defined and m['tool_calls'] %}"
    "{%- for c in m['tool_calls'] %}{%- set f = c['function'] if c['function'] is defined else c %}"
    "{{- ('\\n' if not loop.first else '') + '{\"name\": ' + f['name'] | tojson + ', \"parameters\": ' + f['arguments'] | tojson + '}' }}"
    "{%- endfor %}"
    "{%- else %}{{- m['content'] }}{%- endif %}"
    "{{- '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)


def export(model, tok, cfg_dict, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg_dict, f, indent=2)
        f.write("\n")
    sd = model.state_dict()
    write_safetensors(os.path.join(out_dir, "model.safetensors"),
                      [(k, sd[k].detach().float().cpu().numpy(), "BF16") for k in sd],
                      metadata={"format": "pt"})
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|begin_of_text|>",
                   "eos_token": "<|eot_id|>", "clean_up_tokenization_spaces": False,
                   "model_max_length": 4096, "chat_template": CHAT_TEMPLATE}, f, indent=2)
        f.write("\n")


def load_exported(out_dir, dtype, device):
    cfg = Config.load(out_dir)
    m = Llamba(cfg)
    tensors = read_checkpoint(out_dir)
    m.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in tensors.items()})
    return m.to(dtype=dtype, device=device).eval()


def greedy_sample(out_dir, tok, gen, n, path):
    """Greedy tokens of the exported model in float64 on the CPU, for the Java parity test."""
    model = load_exported(out_dir, torch.float64, "cpu")
    exs = gen.eval_examples(n, EVAL_SEED)
    stop_ids = {tok.special_id[s] for s in ("<|eot_id|>", "<|end_of_text|>", "<|eom_id|>")}
    prompts = []
    for ex in exs:
        msgs = ex.messages[:1] if ex.family != "weather" else ex.messages[:3]  # weather: the answer turn
        prompts.append(tok.chat_ids(tasks.render_tools(ex.system, msgs, ex.tools), True)[0])
    outs, margins = greedy(model, prompts, stop_ids, dtype=torch.float64)
    sample = {"about": "Greedy tokens of the embedded demo model (BF16 weights as stored, float64 PyTorch, "
                       "token by token), written by tools/demo-model/train.py; the Java engine must produce the same.",
              "max_new_tokens": MAX_NEW_TOKENS,
              "items": [{"family": ex.family, "prompt": p, "greedy": o, "text": reply_text(tok, o),
                         "min_top2_margin": round(mg, 6)}
                        for ex, p, o, mg in zip(exs, prompts, outs, margins)]}
    with open(path, "w") as f:
        json.dump(sample, f, indent=1)
        f.write("\n")
    return min(margins)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory (the exported model and reports)")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="demo")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, help="training steps (default: the preset's)")
    ap.add_argument("--examples", type=int, help="distinct training conversations (default: the preset's)")
    ap.add_argument("--batch-tokens", type=int, help="padded tokens per step (default: the preset's)")
    ap.add_argument("--lr", type=float, help="peak learning rate (default: the preset's)")
    ap.add_argument("--workers", type=int, default=min(16, os.cpu_count() or 1), help="data generation processes")
    ap.add_argument("--eval-n", type=int, default=500, help="held-out prompts evaluated at the end")
    ap.add_argument("--sample-n", type=int, default=20, help="prompts in the greedy parity sample")
    ap.add_argument("--families", help="families trained, comma-separated (for experiments; default all)")
    ap.add_argument("--copy-curriculum", action="store_true",
                    help="made-up city names in 60%% of the weather conversations and the echo family (training "
                         "data only; the evaluation is unchanged). The released model is trained with it: see the README")
    ap.add_argument("--model-size", help="d_model,n_layer,intermediate,d_state,heads,qk_heads (for experiments)")
    ap.add_argument("--eval-every", type=int, default=500, help="steps between quick evaluations (0: none)")
    ap.add_argument("--max-train-seconds", type=float, default=0,
                    help="stop training early after this long (a guard for time-limited machines; 0: none)")
    args = ap.parse_args(argv)
    p = dict(PRESETS[args.preset])
    if args.model_size:
        p.update(zip(("d_model", "n_layer", "intermediate_size", "d_state", "n_v_heads", "n_qk_heads"),
                     map(int, args.model_size.split(","))))
    for k in ("steps", "examples", "batch_tokens", "lr"):
        if getattr(args, k) is not None:
            p[k] = getattr(args, k)
    t_start = time.time()
    torch.manual_seed(args.seed)
    np_rng = np.random.RandomState(args.seed)
    os.makedirs(args.out, exist_ok=True)
    device = torch.device(args.device)
    log(f"torch {torch.__version__}, device {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else f" ({torch.get_num_threads()} threads)"))
    log(f"preset {args.preset}: {json.dumps(p)}; seed {args.seed}")

    base_weights = COPY_CURRICULUM_WEIGHTS if args.copy_curriculum else FAMILY_WEIGHTS
    weights = {f: base_weights[f] for f in args.families.split(",")} if args.families else base_weights
    gen = tasks.TaskGenerator(copy_curriculum=args.copy_curriculum)
    t0 = time.time()
    tok = train_tokenizer(gen, args.seed, p["vocab"], weights if args.copy_curriculum else None)
    tok.save(os.path.join(args.out, "tokenizer.json"))
    log(f"tokenizer: {tok.n_regular} regular + 256 special tokens, {len(tok.merges)} merges, "
        f"sha256 {sha256_file(os.path.join(args.out, 'tokenizer.json'))[:16]} ({time.time() - t0:.1f} s)")

    t0 = time.time()
    data = make_data(tok, args.seed, p["examples"], args.workers, weights, args.copy_curriculum)
    lengths = np.array([len(x) for x, _ in data])
    n_target = int(sum(t.sum() for _, t in data))
    log(f"data: {len(data)} conversations, {lengths.sum()} tokens (length {lengths.min()}..{lengths.max()}, "
        f"mean {lengths.mean():.0f}), {n_target} target tokens ({time.time() - t0:.1f} s)")

    cfg_dict = config_dict(tok.vocab_size, p["d_model"], p["n_layer"], p["intermediate_size"], p["d_state"],
                           p["n_v_heads"], p["n_qk_heads"])
    cfg = Config.from_dict(cfg_dict)
    model = Llamba(cfg)
    model.init_weights(torch.Generator().manual_seed(args.seed))
    model.to(device)
    n_params = sum(v.numel() for v in model.parameters())
    log(f"model: {n_params} parameters ({2 * n_params / 1e6:.2f} MB in BF16)")

    # No weight decay on the embedding and in_proj: it would pull the dt init (model.init_weights) back
    # towards dt ~ 0.7, i.e. towards forgetting.
    decay, no_decay = [], []
    for name, v in model.named_parameters():
        (decay if v.dim() >= 2 and not any(k in name for k in ("conv1d", "embedding", "in_proj")) else no_decay).append(v)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=p["lr"], betas=(0.9, 0.95), eps=1e-8)
    warmup = max(1, min(200, p["steps"] // 10))

    def lr_at(step):
        if step < warmup:
            return p["lr"] * (step + 1) / warmup
        q = (step - warmup) / max(1, p["steps"] - warmup)
        return p["lr"] * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * q)))

    use_bf16 = device.type == "cuda"
    batches = []
    t_train = time.time()
    seen_tokens = seen_targets = 0
    loss_acc, loss_n = 0.0, 0
    model.train()
    steps_done = 0
    for step in range(p["steps"]):
        if args.max_train_seconds and time.time() - t_train > args.max_train_seconds:
            log(f"STOPPED EARLY at step {step} of {p['steps']}: --max-train-seconds {args.max_train_seconds} reached")
            break
        if not batches:
            batches = make_batches(data, p["batch_tokens"], np_rng)
        ids, labels = collate(data, batches.pop(), device)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
            logits = model(ids)
        loss = F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        seen_tokens += ids.numel()
        seen_targets += int((labels >= 0).sum())
        loss_acc += float(loss.detach())
        loss_n += 1
        steps_done = step + 1
        if (step + 1) % 50 == 0 or step == 0 or step + 1 == p["steps"]:
            el = time.time() - t_train
            log(f"step {step + 1}/{p['steps']} loss {loss_acc / loss_n:.4f} lr {lr_at(step):.2e} "
                f"{seen_tokens / el:,.0f} tok/s ({seen_targets / el:,.0f} target tok/s) {el:.0f} s")
            loss_acc, loss_n = 0.0, 0
        if args.eval_every and (step + 1) % args.eval_every == 0 and step + 1 < p["steps"]:
            model.eval()
            per, c, n, _ = evaluate(model, tok, gen, 100, 12345, device)
            log(f"quick eval (100 held-out prompts, seed 12345): " + ", ".join(f"{f} {a}/{b}" for f, (a, b) in per.items())
                + f"; {c}/{n}")
            model.train()
    train_s = time.time() - t_train
    log(f"trained {steps_done} steps in {train_s:.0f} s: {seen_tokens} tokens ({seen_targets} target tokens)")

    model_dir = os.path.join(args.out, "model")
    export(model.eval(), tok, cfg_dict, model_dir)
    size = os.path.getsize(os.path.join(model_dir, "model.safetensors"))
    log(f"exported {model_dir}: model.safetensors {size} bytes, sha256 {sha256_file(os.path.join(model_dir, 'model.safetensors'))[:16]}")

    t0 = time.time()
    exported = load_exported(model_dir, torch.float32, device)
    per, c, n, details = evaluate(exported, tok, gen, args.eval_n, EVAL_SEED, device)
    report = format_accuracy(per, c, n)
    log(f"held-out evaluation of the exported BF16 weights (float32, greedy, seed {EVAL_SEED}, {time.time() - t0:.1f} s):")
    log(report)
    with open(os.path.join(args.out, "eval.txt"), "w") as f:
        f.write(report + "\n")
        for ex, r, g in details:
            if not g:
                f.write(f"WRONG {ex.family} {ex.key!r}: {r!r}\n")
    t0 = time.time()
    margin = greedy_sample(model_dir, tok, gen, args.sample_n, os.path.join(args.out, "greedy-sample.json"))
    log(f"greedy sample: {args.sample_n} prompts, smallest top-2 logit margin {margin:.4f} ({time.time() - t0:.1f} s)")
    log(f"total {time.time() - t_start:.0f} s")


if __name__ == "__main__":
    main()
