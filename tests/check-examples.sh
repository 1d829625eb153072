#!/bin/sh
# Runs the C and Python examples on the same seeded stream and checks that
# they print the same results, that each prints every result once from its
# pad probe and once from the bus, the same from both, and the ground truth
# (clip metas) once per clip; then does it again
# inside `meson devenv`, compiling the C example with the uninstalled
# pkg-config file and running the Python one with no variables of ours.
# usage: check-examples.sh SOURCE_ROOT BUILD_ROOT C_EXAMPLE MESON
set -eu
src=$1
build=$2
cexe=$3
meson=$4
model="$src/models/ssan-demo.safetensors"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

GST_PLUGIN_PATH="$build/plugin" "$cexe" --model "$model" > "$tmp/c.txt"
GST_PLUGIN_PATH="$build/plugin" GI_TYPELIB_PATH="$build/plugin" \
  LD_LIBRARY_PATH="$build/plugin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  /usr/bin/python3 "$src/examples/python/ssan-results.py" --model "$model" > "$tmp/py.txt"

n=$(grep -c '^probe ' "$tmp/c.txt" || true)
# 96 frames, windows of 32 every 4 frames
[ "$n" -eq 17 ] || { echo "C example: $n probe results, expected 17"; cat "$tmp/c.txt"; exit 1; }
# ssantestsrc's clip metas: 96 frames, clips of 32
t=$(grep -c '^truth clip ' "$tmp/c.txt" || true)
[ "$t" -eq 3 ] || { echo "C example: $t ground-truth clips, expected 3"; cat "$tmp/c.txt"; exit 1; }
grep '^probe ' "$tmp/c.txt" | cut -d' ' -f2- > "$tmp/probe.txt"
grep '^bus ' "$tmp/c.txt" | cut -d' ' -f2- > "$tmp/bus.txt"
cmp "$tmp/probe.txt" "$tmp/bus.txt" || { echo "C example: probe and bus differ"; exit 1; }
cmp "$tmp/c.txt" "$tmp/py.txt" || { echo "C and Python examples differ"; diff "$tmp/c.txt" "$tmp/py.txt"; exit 1; }

# meson devenv: GST_PLUGIN_PATH, GI_TYPELIB_PATH, LD_LIBRARY_PATH and the
# uninstalled pkg-config file come from it
env -u GST_PLUGIN_PATH -u GI_TYPELIB_PATH -u PKG_CONFIG_PATH \
  "$meson" devenv -C "$build" sh -c '
    set -eu
    ${CC:-cc} -Wall -Werror -o "$1/c-devenv" "$2/examples/c/ssan-results.c" \
      $(pkg-config --cflags --libs gstssanmeta-1.0)
    "$1/c-devenv" --model "$3" > "$1/c-devenv.txt"
    /usr/bin/python3 "$2/examples/python/ssan-results.py" --model "$3" > "$1/py-devenv.txt"
  ' sh "$tmp" "$src" "$model"
cmp "$tmp/c.txt" "$tmp/c-devenv.txt" || { echo "C example under meson devenv differs"; exit 1; }
cmp "$tmp/c.txt" "$tmp/py-devenv.txt" || { echo "Python example under meson devenv differs"; exit 1; }
echo "examples: $n results and $t clips, C = Python, probe = bus, also under meson devenv"
