#!/usr/bin/env bash
# Soak: streams FRAMES frames through ssantestsrc ! ssanaction (async mode)
# in one process (build/tests/ssan-soak) and samples its resident memory
# (VmRSS) every 100 frames: by frame count, not by time, so the verdict is
# the same on a fast or a slow machine.  After the warm-up (the first
# WARMUP frames, default a fifth) resident memory must not grow by more than
# 1 MiB: exit status 1 if it does, or if the pipeline fails or gives no
# result.
#   scripts/soak.sh [frames=50000] [model] [build-dir=build] [warmup-frames]
# model defaults to models/ssan-demo.safetensors, or, when that file does not
# exist, to the small golden model tests/data/golden/basic_l1_t8.safetensors.
# SOAK_SIZE=WxH sets the frame size (default 320x240).
set -euo pipefail
cd "$(dirname "$0")/.."
frames="${1:-50000}"
model="${2:-}"
build="${3:-build}"
warmup="${4:-}"
size="${SOAK_SIZE:-320x240}"

if [ -z "$model" ]; then
  model=models/ssan-demo.safetensors
  [ -f "$model" ] || model=tests/data/golden/basic_l1_t8.safetensors
fi
[ -f "$model" ] || { echo "soak: no model file $model" >&2; exit 1; }
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
[ -f "$build/plugin/libgstssan.so" ] && [ -x "$build/tests/ssan-soak" ] \
  || { echo "soak: no plugin or ssan-soak in $build (build first)" >&2; exit 1; }
export GST_PLUGIN_PATH="$build/plugin"
# own registry, so that a stale one elsewhere does not matter
export GST_REGISTRY="$build/soak-registry.bin"
exec "$build/tests/ssan-soak" "$frames" "$model" "$warmup" "$size"
