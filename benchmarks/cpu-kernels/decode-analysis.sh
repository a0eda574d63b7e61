#!/usr/bin/env bash
# Where the one-token (decode) products of each weight format stand against memory on this machine:
# what one core and both cores can stream, and each format's kernel from DRAM and with its weights in
# L2 (arithmetic only), on 1 and 2 threads. Run from the repository root after
# `./mvnw -q -DskipTests package`, on a quiet machine; docs/benchmarks/cpu.md reads its output.
set -euo pipefail
JAVA=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
JAR=llamba-engine/target/llamba-engine.jar
run() { "$JAVA" --add-modules jdk.incubator.vector "$@" 2>&1 | grep -v '^WARNING'; }
lscpu | grep -E 'Model name|^CPU\(s\)|L2 cache|L3 cache'
for t in 1 2; do run benchmarks/cpu-kernels/ReadBench.java $t; done
for t in 1 2; do
  echo "# DRAM: 24 matrices of 8192 x 2048, $t thread(s)"
  run -cp $JAR benchmarks/cpu-kernels/MatrixBench.java $t 1 BF16 Q8_0 Q4_0
done
# One core with its weights in L2 (one matrix of 256 x 2048, at most 1 MB): its arithmetic rate. (Two
# threads on a matrix this small measure the hand-out of work more than the kernel.)
echo "# L2: 1 matrix of 256 x 2048, 1 thread"
run -Drows=256 -Dcount=1 -Drounds=20000 -cp $JAR benchmarks/cpu-kernels/MatrixBench.java 1 1 BF16 Q8_0 Q4_0
# Q8_0's one-token loop written three ways (benchmarks/cpu-kernels/Q8DecodeVariants.java): in L2 on one
# thread, and from memory on two.
for v in float int16 wide; do
  run benchmarks/cpu-kernels/Q8DecodeVariants.java 600000 1 $v
  run benchmarks/cpu-kernels/Q8DecodeVariants.java 1000000000 2 $v
done
