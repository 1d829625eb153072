#!/usr/bin/env bash
# Many streams in one process (issue 16): N pipelines of ssantestsrc at
# 640x480, 30 fps, through ssanaction (sync mode) with one model, as fast as
# they go (fakesink sync=false), all in one gst-launch-1.0; beside one such
# stream alone and the N streams with shared-scheduler=false, measured in the
# same run, alternating, R times.  Prints per run: wall and CPU seconds, the
# real-time factor every stream reached at least (stream seconds / wall
# seconds: each stream is done by the time the process is), windows per
# second of the whole process, the most threads the process had (sampled
# every 50 ms) and its peak RSS (VmHWM of the process, sampled likewise).
#   scripts/bench-streams.sh [streams] [frames] [runs] [model] [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-8}"
frames="${2:-900}"
runs="${3:-2}"
model="${4:-models/ssan-demo.safetensors}"
build="${5:-build}"
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
export GST_PLUGIN_PATH="$build/plugin"
[ -r "$model" ] || { echo "bench-streams.sh: no model $model" >&2; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT

pipelines () {  # $1 streams, $2 the element after the source
  local i p=""
  for ((i = 0; i < $1; i++)); do
    p+=" ssantestsrc seed=$((7 + i)) num-buffers=$frames !"
    p+=" video/x-raw,width=640,height=480,framerate=30/1 !"
    p+=" $2 ! fakesink sync=false"
  done
  echo "$p"
}

run () {  # $1 label, $2 streams, $3 element; sets $rss (KiB)
  local start end pid threads=0 hwm=0 t h cpu
  start=$(date +%s.%N)
  # shellcheck disable=SC2046
  gst-launch-1.0 -q $(pipelines "$2" "$3") >/dev/null 2>"$log" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    t=$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    h=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ -n "$t" ] && [ "$t" -gt "$threads" ] && threads=$t
    [ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
    cpu=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo "$cpu")
    sleep 0.05
  done
  if ! wait "$pid"; then
    echo "bench-streams.sh: $1 failed:" >&2
    cat "$log" >&2
    exit 1
  fi
  end=$(date +%s.%N)
  rss=$hwm
  awk -v l="$1" -v n="$2" -v f="$frames" -v s="$start" -v e="$end" \
      -v c="$cpu" -v hz="$(getconf CLK_TCK)" -v th="$threads" -v m="$hwm" \
      -v L=32 -v st=4 'BEGIN {
    w = e - s; windows = n * (int((f - L) / st) + 1)
    printf "%-30s %7.2f %7.2f %9.1f %10.1f %8d %8.1f\n", l, w, c / hz, f / 30 / w,
      windows / w, th, m / 1024
  }'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$n streams of $frames frames (640x480, 30 fps, $(awk -v f="$frames" 'BEGIN { print f / 30 }') s each), model $model, sync mode"
echo "(CPU s: user + system of the process, sampled every 50 ms, so the last"
echo " 50 ms may be missing; windows/s assumes the demo model's L 32, stride 4)"
printf "%-30s %7s %7s %9s %10s %8s %8s\n" "run" "wall s" "CPU s" "RT x" "windows/s" "threads" "RSS MiB"
act="ssanaction model=$model mode=sync"
# What one element's window holds at most: L converted frames of 3 x S x S
# floats (its slots), from the model's metadata.
info=$("$build/tools/ssan-infer" --info --model "$model")
win_l=$(awk -F': ' '$1 == "window_frames" { print $2 }' <<<"$info")
in_s=$(awk -F': ' '$1 == "input_size" { print $2 }' <<<"$info")
slots_kib=$((win_l * 3 * in_s * in_s * 4 / 1024))
for ((r = 0; r < runs; r++)); do
  run "1 source alone" 1 identity; src1=$rss
  run "$n sources alone" "$n" identity; srcn=$rss
  run "1 stream" 1 "$act"; one=$rss
  run "$n streams, shared scheduler" "$n" "$act"; shared=$rss
  run "$n streams, own schedulers" "$n" "$act shared-scheduler=false"
  # The issue's memory bound: n streams within 1.3 x one stream's RSS
  # plus the frames the n - 1 further pipelines hold: their sources'
  # canvases and frames in flight (n sources alone minus one) and their
  # windows' converted frames.
  awk -v s="$shared" -v o="$one" -v a="$src1" -v b="$srcn" -v n="$n" \
      -v w="$slots_kib" 'BEGIN {
    held = b - a + (n - 1) * w; bound = 1.3 * o + held
    printf "  RSS %d streams %.1f MiB vs 1.3 x one stream %.1f + frames held by %d more pipelines %.1f (sources %.1f, windows %d x %.1f) = %.1f MiB: %s\n",
      n, s / 1024, 1.3 * o / 1024, n - 1, held / 1024, (b - a) / 1024, n - 1, w / 1024,
      bound / 1024, s <= bound ? "within" : "ABOVE"
  }'
done
