#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, with the staged folder carried (see
# tools/gpu/stage.sh): unpacks the Java runtime, then runs the steps named as arguments:
#   tests  the GPU tests (CudaGpuTest) through a JUnit launcher (no Maven there)
#   bench  bench-gpu, all shapes (figures also in $OUT/bench.json)
#   nopdl  bench-gpu for Llamba-1B with programmatic dependent launch off (LLAMBA_PDL=0), to compare
#   hf     Hugging Face LlamaForCausalLM side by side (needs bench's JSON for the table)
#   llamatests  the GPU tests of both architectures (LlamaCudaGpuTest, CudaGpuTest)
#   h2h    head-to-head of Llamba-1B and Llama-3.2-1B shapes on the GPU (JSON in $OUT/h2h.json;
#          plot it elsewhere with head-to-head --replot, the runtime here has no java.desktop)
#   attention   bench-gpu --attention llama-3.2-1b: the Llama kernels timed alone at long context
#   attnpeer    PyTorch SDPA on the same attention shapes (attention_peer.py)
# Each step's output goes to the console and to $OUT/<step>.log. Per-step time limits keep the
# whole run inside one 10-minute call: STEP_LIMIT_<step> seconds (defaults below).
set -uo pipefail
D=${STAGED:-.device/gpu}
OUT=${OUT:-/tmp/llamba-out}
mkdir -p "$OUT"
tar xJf .device/jre.tar.xz -C /tmp
JAVA=/tmp/jre/bin/java
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
JOPTS="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss4m -XX:+UseParallelGC"
CP="$D/llamba-engine.jar:$D/lib/*"
echo "== machine: $(nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv,noheader), $(nproc) CPUs"
for step in "$@"; do
  t0=$(date +%s)
  case $step in
    tests) timeout "${STEP_LIMIT_tests:-240}" $JAVA $JOPTS -cp "$CP:$D/test-classes:$D/test-lib/*" \
             io.llamba.engine.cuda.GpuTestMain io.llamba.engine.cuda.CudaGpuTest 2>&1 | tee "$OUT/tests.log" ;;
    bench) timeout "${STEP_LIMIT_bench:-300}" $JAVA $JOPTS -cp "$CP" io.llamba.engine.cli.Main bench-gpu \
             --json "$OUT/bench.json" ${BENCH_ARGS:-} 2>&1 | tee "$OUT/bench.log" ;;
    nopdl) LLAMBA_PDL=0 timeout "${STEP_LIMIT_nopdl:-120}" $JAVA $JOPTS -cp "$CP" io.llamba.engine.cli.Main bench-gpu \
             --shapes llamba-1b --batches 1,64,1024 --prefill-tokens 0 --no-max-batch 2>&1 | tee "$OUT/nopdl.log" ;;
    hf)    PYTHONUNBUFFERED=1 timeout "${STEP_LIMIT_hf:-240}" python3 "$D/hf_llama_bench.py" --ours "$OUT/bench.json" \
             --json "$OUT/hf.json" ${HF_ARGS:-} 2>&1 | tee "$OUT/hf.log" ;;
    llamatests) timeout "${STEP_LIMIT_llamatests:-180}" $JAVA $JOPTS -Xmx32g -cp "$CP:$D/test-classes:$D/test-lib/*" \
             io.llamba.engine.cuda.GpuTestMain io.llamba.engine.cuda.LlamaCudaGpuTest io.llamba.engine.cuda.CudaGpuTest 2>&1 | tee "$OUT/llamatests.log" ;;
    h2h)   timeout "${STEP_LIMIT_h2h:-240}" $JAVA $JOPTS -Xmx48g -cp "$CP" io.llamba.engine.cli.Main head-to-head --backend cuda \
             --models llamba-1b,llama-3.2-1b --dtype BF16 --contexts 2048,8192,32768 --batches 1,4,16,64,256 --steps 8 --rounds 3 \
             --report-contexts 2048,8192,32768 --max-batch-steps 4 --work /tmp/h2h --json "$OUT/h2h.json" ${H2H_ARGS:-} 2>&1 | tee "$OUT/h2h.log" ;;
    attention) timeout "${STEP_LIMIT_attention:-90}" $JAVA $JOPTS -cp "$CP" io.llamba.engine.cli.Main bench-gpu --attention llama-3.2-1b \
             --json "$OUT/attention.json" 2>&1 | tee "$OUT/attention.log" ;;
    attnpeer) PYTHONUNBUFFERED=1 timeout "${STEP_LIMIT_attnpeer:-60}" python3 "$D/attention_peer.py" --json "$OUT/attnpeer.json" 2>&1 \
             | tee "$OUT/attnpeer.log" ;;
    *) echo "unknown step $step"; continue ;;
  esac
  echo "== step $step: exit ${PIPESTATUS[0]} after $(( $(date +%s) - t0 )) s"
done
