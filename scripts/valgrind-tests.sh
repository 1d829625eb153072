#!/bin/sh
# Runs the GStreamer tests (suites element and stress: ssanaction,
# ssantestsrc, ssanoverlay, stress) under valgrind memcheck, through the
# meson test setup 'valgrind' (tests/meson.build): full leak check, exit
# status 1 on any definitely-lost block or memory error not matched by
# tests/valgrind.supp (third-party noise only: GLib type system, GStreamer
# registry and init, fontconfig/pango caches), G_SLICE=always-malloc.
# Slow (about 15-25 min on 2 cores), so not part of scripts/test.sh / CI.
#   scripts/valgrind-tests.sh [build-dir=build-valgrind] [extra meson test args]
set -eu
cd "$(dirname "$0")/.."
build="${1:-build-valgrind}"
[ $# -gt 0 ] && shift
scripts/setup-debian.sh --with-valgrind
if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build"
else
  meson setup "$build"
fi
meson compile -C "$build"
meson test -C "$build" --setup valgrind --suite element --suite stress \
  --print-errorlogs --num-processes 2 "$@"
