#!/usr/bin/env bash
# Streaming figure (issue 5): ssantestsrc at 640x480, 30 fps, through
# ssanaction with the demo model in sync mode, as fast as it goes
# (fakesink sync=false).  Prints the real-time factor (stream seconds per wall
# second) and the CPU share one stream needs, beside the same pipeline without
# ssanaction, measured in the same run.
#   scripts/bench-stream.sh [frames] [model] [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
frames="${1:-1800}"
model="${2:-models/ssan-demo.safetensors}"
build="${3:-build}"
export GST_PLUGIN_PATH="$PWD/$build/plugin"
src="ssantestsrc seed=7 num-buffers=$frames ! video/x-raw,width=640,height=480,framerate=30/1"

run () {  # prints: wall-seconds cpu-seconds
  local t0 t1 c0 c1
  read -r c0 < <(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  t0=$(date +%s.%N)
  gst-launch-1.0 -q $1 >/dev/null
  t1=$(date +%s.%N)
  read -r c1 < <(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  awk -v a="$t0" -v b="$t1" -v c="$c0" -v d="$c1" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.3f %.3f\n", b - a, (d - c) / hz }'
}

stream_s=$(awk -v n="$frames" 'BEGIN { print n / 30 }')
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "stream: $frames frames of 640x480 at 30 fps = $stream_s s; model: $model"
read -r w0 c0 < <(run "$src ! fakesink sync=false")
read -r w1 c1 < <(run "$src ! ssanaction model=$model mode=sync ! fakesink sync=false")
awk -v s="$stream_s" -v w0="$w0" -v c0="$c0" -v w1="$w1" -v c1="$c1" 'BEGIN {
  printf "%-34s %8s %8s %12s %16s\n", "pipeline", "wall s", "cpu s", "real-time x", "cpu per stream"
  printf "%-34s %8.2f %8.2f %12.1f %15.1f%%\n", "ssantestsrc ! fakesink", w0, c0, s / w0, 100 * c0 / s
  printf "%-34s %8.2f %8.2f %12.1f %15.1f%%\n", "ssantestsrc ! ssanaction ! fakesink", w1, c1, s / w1, 100 * c1 / s
  printf "ssanaction alone: %.1f%% of one core per 30 fps stream (difference of the two)\n", 100 * (c1 - c0) / s
}'
