#!/bin/sh
# Compiles tests/pkgconfig-meta.c against the build tree with the
# uninstalled pkg-config file only, then runs it.
# usage: check-pkgconfig.sh BUILD_ROOT SOURCE_FILE
set -eu
build=$1
src=$2
out="$build/tests/pkgconfig-meta"
flags=$(PKG_CONFIG_PATH="$build/meson-uninstalled" pkg-config --cflags --libs gstssanmeta-1.0)
# shellcheck disable=SC2086
${CC:-cc} -Wall -Werror -o "$out" "$src" $flags
LD_LIBRARY_PATH="$build/plugin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$out"
