#!/usr/bin/env bash
# Builds the engine and stages what the GPU machine needs (thin jars, the test classes with the
# fixtures, the scripts) into DEST (default: ../main/.device/gpu beside this checkout's parent).
# Usage, from the repository root:  llamba-engine/tools/gpu/stage.sh [DEST]
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
dest=${1:?usage: stage.sh DEST}
cd "$root"
./mvnw -B -q -o -pl llamba-engine -am -DskipTests package
m2=${M2_REPO:-$HOME/.m2/repository}
rm -rf "$dest"
mkdir -p "$dest/lib" "$dest/test-lib"
cp llamba-engine/target/llamba-engine.jar "$dest/"
cp llamba-engine/target/lib/jcuda-[0-9]*.jar "$dest/lib/"
# JCuda's natives jar also holds NVRTC/PTX-compiler bindings (24 MB) we do not use: keep the driver's.
tmp=$(mktemp -d)
(cd "$tmp" && unzip -q "$root"/llamba-engine/target/lib/jcuda-natives-*-linux-x86_64.jar 'lib/libJCudaDriver-*')
(cd "$tmp" && zip -q -r "$dest/lib/$(basename "$root"/llamba-engine/target/lib/jcuda-natives-*-linux-x86_64.jar)" lib)
rm -rf "$tmp"
cp -r llamba-engine/target/test-classes "$dest/test-classes"
./mvnw -B -q -o -pl llamba-engine dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$dest/cp.txt" >/dev/null
tr ':' '\n' < "$dest/cp.txt" | grep -E '/(junit-|opentest4j|apiguardian|assertj-core|jspecify)' | xargs -I{} cp {} "$dest/test-lib/"
rm "$dest/cp.txt"
cp llamba-engine/tools/gpu/device-run.sh llamba-engine/tools/gpu/hf_llama_bench.py llamba-engine/tools/gpu/attention_peer.py "$dest/"
du -sh "$dest"
