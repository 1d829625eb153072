#!/usr/bin/env bash
# Streaming figure (issue 5): ssantestsrc at 640x480, 30 fps, through
# ssanaction with the demo model in sync mode, as fast as it goes
# (fakesink sync=false).  Prints the real-time factor (stream seconds per wall
# second) and the CPU share one stream needs, beside the same pipeline without
# ssanaction, measured in the same run.  CPU seconds are those of
# gst-launch-1.0 (bash's time); on a shared machine the CPU-time figure is
# the steadier one.
#   scripts/bench-stream.sh [frames] [model] [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
frames="${1:-1800}"
model="${2:-models/ssan-demo.safetensors}"
build="${3:-build}"
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
export GST_PLUGIN_PATH="$build/plugin"
[ -r "$model" ] || { echo "bench-stream.sh: no model $model" >&2; exit 1; }
src="ssantestsrc seed=7 num-buffers=$frames ! video/x-raw,width=640,height=480,framerate=30/1"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run () {  # prints: wall-seconds cpu-seconds (user + system of gst-launch)
  local TIMEFORMAT='%R %U %S' out
  # shellcheck disable=SC2086
  if ! out=$( { time gst-launch-1.0 -q $1 >/dev/null 2>"$log"; } 2>&1 ); then
    echo "bench-stream.sh: gst-launch-1.0 $1 failed:" >&2
    cat "$log" >&2
    exit 1
  fi
  echo "$out" | awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }'
}

stream_s=$(awk -v n="$frames" 'BEGIN { print n / 30 }')
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "stream: $frames frames of 640x480 at 30 fps = $stream_s s; model: $model"
r0=$(run "$src ! fakesink sync=false")
r1=$(run "$src ! ssanaction model=$model mode=sync ! fakesink sync=false")
read -r w0 c0 <<<"$r0"
read -r w1 c1 <<<"$r1"
awk -v s="$stream_s" -v w0="$w0" -v c0="$c0" -v w1="$w1" -v c1="$c1" 'BEGIN {
  printf "%-36s %7s %7s %11s %11s %9s\n", "pipeline", "wall s", "cpu s", "real-time x", "x per CPU s", "cpu share"
  printf "%-36s %7.2f %7.2f %11.1f %11.1f %8.1f%%\n", "ssantestsrc ! fakesink", w0, c0, s / w0, s / c0, 100 * c0 / s
  printf "%-36s %7.2f %7.2f %11.1f %11.1f %8.1f%%\n", "ssantestsrc ! ssanaction ! fakesink", w1, c1, s / w1, s / c1, 100 * c1 / s
  printf "real-time x = stream s / wall s; x per CPU s = stream s / CPU s, a lower bound for an idle\n"
  printf "machine (the pipeline never waits, so there wall <= CPU time)\n"
  printf "ssanaction alone: %.1f%% of one core per 30 fps stream (difference of the two)\n", 100 * (c1 - c0) / s
}'
