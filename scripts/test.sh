#!/bin/sh
# Sets up a fresh Debian 12 machine (installs what is missing), builds, and
# runs every test, twice:
#   1. BUILD (default `build`): gcc, the build users get; `meson test`.
#   2. BUILD-sanitize: clang with AddressSanitizer and UndefinedBehaviorSanitizer
#      (-Db_sanitize=address,undefined), the same tests (LSan on, third-party
#      leaks suppressed by tests/lsan.supp; the soak is left out there), plus
#      the libFuzzer targets of fuzz/ for 60 s each (suite `fuzz`).
# Usage: scripts/test.sh [--no-sanitize] [build-dir]
# Leak checks under valgrind (slower, not run here): scripts/valgrind-tests.sh
set -eu
cd "$(dirname "$0")/.."
sanitize=yes
if [ "${1:-}" = "--no-sanitize" ]; then
  sanitize=no
  shift
fi
build="${1:-build}"

if [ $sanitize = yes ]; then
  scripts/setup-debian.sh --with-torch --with-clang
else
  scripts/setup-debian.sh --with-torch
fi

setup() { # setup DIR [meson options...]
  dir="$1"
  shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@"
  else
    meson setup "$dir" "$@"
  fi
}

echo "== test.sh: gcc build in $build"
setup "$build"
meson test -C "$build" --print-errorlogs --num-processes 2

if [ $sanitize = yes ]; then
  echo "== test.sh: clang ASan+UBSan build (and fuzz targets) in $build-sanitize"
  (export CC=clang; setup "$build-sanitize" -Db_sanitize=address,undefined \
    -Db_lundef=false -Dfuzz=enabled)
  meson test -C "$build-sanitize" --print-errorlogs --num-processes 2
fi
echo "== test.sh: all tests passed"
