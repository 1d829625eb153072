#!/bin/sh
# Installs, from Debian 12's archive, whatever gst-ssan needs to build, test
# and run its demo.  Installs nothing when everything is already there.
# (ssanpublish builds on libmosquitto and its tests start Debian's
# mosquitto; the meta library's GIR/typelib needs gobject-introspection, the
# Python example python3-gi and python3-gst-1.0.)
# Usage: scripts/setup-debian.sh [--with-torch] [--with-clang] [--with-valgrind]
#   torch: tools/*.py and their tests (scripts/test.sh); clang: the sanitizer build and the libFuzzer
#   targets (scripts/test.sh); valgrind: scripts/valgrind-tests.sh
set -eu

pkgs="build-essential meson ninja-build pkg-config libopenblas-dev
  libglib2.0-dev libjson-glib-dev libgstreamer1.0-dev
  libgstreamer-plugins-base1.0-dev gstreamer1.0-tools gstreamer1.0-plugins-base
  gstreamer1.0-plugins-good libpango1.0-dev libcairo2-dev fonts-dejavu-core
  libmosquitto-dev mosquitto mosquitto-clients
  gobject-introspection libgirepository1.0-dev python3-gi gir1.2-gstreamer-1.0
  python3-gst-1.0 openssl"
for arg in "$@"; do
  case "$arg" in
    --with-torch) pkgs="$pkgs python3-torch python3-torchvision python3-numpy python3-gi python3-gst-1.0" ;;
    --with-clang) pkgs="$pkgs clang libclang-rt-14-dev" ;;
    --with-valgrind) pkgs="$pkgs valgrind" ;;
    *) echo "setup-debian: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "setup-debian: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
