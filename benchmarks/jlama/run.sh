#!/usr/bin/env bash
# Side by side on this machine, one after the other: the engine's `bench` (batch-1 decode after a
# short prompt) on a random Llamba-1B, and Jlama's generate loop on a random Llama-3.2-1B, each in
# BF16 and in 4 bits (our Q4_0, Jlama's Q4), Jlama with its native SIMD kernels and with its pure-Java
# Vector API kernels. Prints every JSON line and a table of effective bandwidth (weight bytes read per
# decoded token × tokens per second).
#
#   JAVA_HOME=/path/to/jdk-25 benchmarks/jlama/run.sh
#
# Environment: WORK (where random checkpoints are written, default /tmp/llamba-bench), LLAMBA_MODEL,
# LLAMA_MODEL (existing checkpoints to use instead), THREADS (default: physical cores), TOKENS
# (decoded tokens per run, default 64), REPS (timed runs, best kept, default 3).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${JAVA_HOME:?point JAVA_HOME at a JDK 25}"
JAVA="$JAVA_HOME/bin/java"
WORK="${WORK:-/tmp/llamba-bench}"
LLAMBA_MODEL="${LLAMBA_MODEL:-$WORK/llamba-1b-bf16}"
LLAMA_MODEL="${LLAMA_MODEL:-$WORK/llama-3.2-1b-random}"
THREADS="${THREADS:-$(lscpu -p=core,socket | grep -v '^#' | sort -u | wc -l)}"
TOKENS="${TOKENS:-64}"
REPS="${REPS:-3}"
mkdir -p "$WORK"

./mvnw -B -q -DskipTests -pl llamba-engine -am package
./mvnw -B -q -f benchmarks/jlama/pom.xml package
ENGINE="$JAVA --add-modules jdk.incubator.vector -jar llamba-engine/target/llamba-engine.jar"
[ -f "$LLAMBA_MODEL/model.safetensors" ] || $ENGINE random-model --config llamba-1b --dtype BF16 --out "$LLAMBA_MODEL"

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $THREADS threads; load average $(cut -d' ' -f1-3 /proc/loadavg)"
results="$WORK/side-by-side.jsonl"
: > "$results"
for fmt in bf16 q4; do
  quant=$([ "$fmt" = bf16 ] && echo none || echo q4_0)
  $ENGINE bench --model "$LLAMBA_MODEL" --quantize "$quant" --batch 1 --prompt-tokens 16 --decode-tokens "$TOKENS" \
      --reps "$REPS" --threads "$THREADS" | tee /dev/stderr | tail -1 | sed 's/^{/{"engine":"llamba",/' >> "$results"
  for ops in native panama; do
    flag=$([ "$ops" = panama ] && echo "-Djlama.force_panama_tensor_operations=true" || echo "-Djlama.force_simd_tensor_operations=true")
    $JAVA --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED "$flag" -jar benchmarks/jlama/target/jlama-bench.jar \
        --model "$LLAMA_MODEL" --format "$fmt" --threads "$THREADS" --prompt-tokens 16 --tokens "$TOKENS" --reps "$REPS" \
        | tee /dev/stderr | tail -1 >> "$results"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"{'engine':<34}{'format':<8}{'decode tok/s':>14}{'GB/token':>10}{'effective GB/s':>16}")
for r in rows:
    name = "llamba (Llamba-1B)" if r["engine"] == "llamba" else f"jlama {r['tensor_ops']}"
    fmt = r.get("weight_format", r.get("format"))
    gbps = r["decode_bytes_per_token"] * r["decode_tok_s"] / 1e9
    extra = f"  ({100 * r['decode_bw_fraction']:.0f}% of {r['read_gbps']:.1f} GB/s measured)" if r["engine"] == "llamba" else ""
    print(f"{name:<34}{fmt:<8}{r['decode_tok_s']:>14.2f}{r['decode_bytes_per_token'] / 1e9:>10.3f}{gbps:>16.1f}{extra}")
PY
