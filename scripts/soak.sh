#!/usr/bin/env bash
# Soak: streams FRAMES frames through ssantestsrc ! ssanaction (async mode)
# and samples the process's resident memory (VmRSS) every half second.
# After the warm-up (the first WARMUP seconds) resident memory must not grow
# by more than 1 MiB: exit status 1 if it does, or if the pipeline fails or
# gives no result.
#   scripts/soak.sh [frames=50000] [model] [build-dir=build] [warmup-seconds=10]
# model defaults to models/ssan-demo.safetensors, or, when that file does not
# exist, to the small golden model tests/data/golden/basic_l1_t8.safetensors.
# SOAK_SIZE=WxH sets the frame size (default 320x240); SOAK_PACE_US=N holds
# each frame at least N microseconds (identity sleep-time), so that a short
# soak outlasts its warm-up however fast the machine is.
set -euo pipefail
cd "$(dirname "$0")/.."
frames="${1:-50000}"
model="${2:-}"
build="${3:-build}"
warmup="${4:-10}"
size="${SOAK_SIZE:-320x240}"
pace="${SOAK_PACE_US:-0}"
limit_kib=1024

if [ -z "$model" ]; then
  model=models/ssan-demo.safetensors
  [ -f "$model" ] || model=tests/data/golden/basic_l1_t8.safetensors
fi
[ -f "$model" ] || { echo "soak: no model file $model" >&2; exit 1; }
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
[ -f "$build/plugin/libgstssan.so" ] || { echo "soak: no plugin in $build/plugin (build first)" >&2; exit 1; }
export GST_PLUGIN_PATH="$build/plugin"
# own registry, so that a stale one elsewhere does not matter
export GST_REGISTRY="$build/soak-registry.bin"

tmp=$(mktemp -d)
results="$tmp/results.jsonl"
gst-launch-1.0 -q ssantestsrc seed=11 num-buffers="$frames" ! \
  "video/x-raw,width=${size%x*},height=${size#*x},framerate=30/1" ! \
  ssanaction model="$model" mode=async results-location="$results" ! \
  identity sleep-time="$pace" ! fakesink sync=false &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT

start=$(date +%s.%N)
base="" peak=0 last=0 n=0 t=0
echo "soak: $frames frames of $size, model $model, warm-up ${warmup}s, limit +${limit_kib} KiB"
printf "%8s %10s\n" "t (s)" "RSS (KiB)"
while kill -0 $pid 2>/dev/null; do
  rss=$(awk '/^VmRSS:/ {print $2}' /proc/$pid/status 2>/dev/null || true)
  [ -n "$rss" ] || break
  t=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ -z "$base" ] && awk -v t="$t" -v w="$warmup" 'BEGIN { exit !(t >= w) }'; then
    base=$rss
    peak=$rss
  fi
  if [ -n "$base" ] && [ "$rss" -gt "$peak" ]; then peak=$rss; fi
  last=$rss
  # a line every 5 s, a sample every 0.5 s
  if [ $((n % 10)) -eq 0 ]; then
    printf "%8s %10s%s\n" "$t" "$rss" "${base:+  (after warm-up)}"
  fi
  n=$((n + 1))
  sleep 0.5
done
status=0
wait $pid || status=$?
trap 'rm -rf "$tmp"' EXIT
nres=$(wc -l < "$results" 2>/dev/null || echo 0)
echo "soak: pipeline ended after ${t}s with status $status, $nres results"
[ $status -eq 0 ] || { echo "soak: FAIL: pipeline failed"; exit 1; }
[ "$nres" -gt 0 ] || { echo "soak: FAIL: no result"; exit 1; }
if [ -z "$base" ]; then
  echo "soak: FAIL: stream ended within the warm-up; use more frames"
  exit 1
fi
growth=$((peak - base))
echo "soak: RSS after warm-up $base KiB, peak $peak KiB, last $last KiB: growth $growth KiB (limit $limit_kib)"
if [ $growth -gt $limit_kib ]; then
  echo "soak: FAIL: resident memory grew by more than $limit_kib KiB"
  exit 1
fi
echo "soak: OK"
