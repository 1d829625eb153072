#!/usr/bin/env bash
# Soak: streams FRAMES frames through ssantestsrc ! ssanaction (async mode)
# and samples the process's resident memory over time.  After the warm-up
# (the first WARMUP seconds) resident memory must not grow by more than
# 1 MiB; exit status 1 if it does.
#   scripts/soak.sh [frames=50000] [model] [build-dir] [warmup-seconds=10]
set -euo pipefail
cd "$(dirname "$0")/.."
frames="${1:-50000}"
model="${2:-models/ssan-demo.safetensors}"
build="${3:-build}"
warmup="${4:-10}"
limit_kib=1024
export GST_PLUGIN_PATH="$PWD/$build/plugin"

gst-launch-1.0 -q ssantestsrc seed=11 num-buffers="$frames" ! \
  video/x-raw,width=320,height=240,framerate=30/1 ! \
  ssanaction model="$model" mode=async ! fakesink sync=false &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT

start=$(date +%s.%N)
base="" peak=0 last=0 n=0
echo "soak: $frames frames, model $model, warm-up ${warmup}s, limit +${limit_kib} KiB"
printf "%8s %10s\n" "t (s)" "RSS (KiB)"
while kill -0 $pid 2>/dev/null; do
  rss=$(awk '/^VmRSS:/ {print $2}' /proc/$pid/status 2>/dev/null || true)
  [ -n "$rss" ] || break
  t=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ -z "$base" ] && awk -v t="$t" -v w="$warmup" 'BEGIN { exit !(t >= w) }'; then
    base=$rss
  fi
  [ -n "$base" ] && [ "$rss" -gt "$peak" ] && peak=$rss
  last=$rss
  # one line every 5 s, a sample every 0.5 s
  [ $((n % 10)) -eq 0 ] && printf "%8s %10s%s\n" "$t" "$rss" "${base:+  (warm)}"
  n=$((n + 1))
  sleep 0.5
done
wait $pid
status=$?
trap - EXIT
[ $status -eq 0 ] || { echo "soak: pipeline failed with status $status"; exit 1; }
if [ -z "$base" ]; then
  echo "soak: stream ended within the warm-up; use more frames"
  exit 1
fi
growth=$((peak - base))
echo "soak: RSS after warm-up $base KiB, peak $peak KiB, last $last KiB: growth $growth KiB (limit $limit_kib)"
[ $growth -le $limit_kib ]
