#!/bin/sh
# Sets up a fresh Debian 12 machine (installs what is missing), builds, and
# runs every test: `scripts/test.sh [build-dir]`.
set -eu
cd "$(dirname "$0")/.."
build="${1:-build}"
scripts/setup-debian.sh
if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build"
else
  meson setup "$build"
fi
meson test -C "$build" --print-errorlogs --num-processes 2
