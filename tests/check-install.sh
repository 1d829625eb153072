#!/bin/sh
# meson install into a scratch DESTDIR, then use what was installed as a
# user would: the plugin (gst-inspect-1.0), the tools and the demo model,
# the C example built with the installed pkg-config file, the Python one
# through the installed typelib, the importer.
# usage: check-install.sh SOURCE_ROOT BUILD_ROOT MESON PREFIX LIBDIR BINDIR DATADIR
set -eu
src=$1 build=$2 meson=$3 prefix=$4 libdir=$5 bindir=$6 datadir=$7
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
d="$tmp/dest"
"$meson" install -C "$build" --destdir "$d" --no-rebuild --quiet > "$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log"; exit 1; }

case $libdir in /*) ;; *) libdir="$prefix/$libdir" ;; esac
case $bindir in /*) ;; *) bindir="$prefix/$bindir" ;; esac
case $datadir in /*) ;; *) datadir="$prefix/$datadir" ;; esac
L="$d$libdir" B="$d$bindir" S="$d$datadir"
for f in "$L/gstreamer-1.0/libgstssan.so" "$L/libgstssanmeta-1.0.so.0" \
    "$L/girepository-1.0/GstSsan-1.0.typelib" "$S/gir-1.0/GstSsan-1.0.gir" \
    "$L/pkgconfig/gstssanmeta-1.0.pc" \
    "$d$prefix/include/gstreamer-1.0/gst/ssan/gstssanactionmeta.h" \
    "$d$prefix/include/gstreamer-1.0/gst/ssan/gstssanclipmeta.h" \
    "$B/ssan-infer" "$B/ssan-demo" \
    "$S/gst-ssan/models/ssan-demo.safetensors" "$S/gst-ssan/models/tsn-demo.safetensors" \
    "$S/gst-ssan/ssan-result.schema.json"; do
  [ -e "$f" ] || { echo "not installed: $f"; exit 1; }
done
if [ -e "$src/tools/ssan_import.py" ]; then
  [ -x "$B/ssan-import" ] || { echo "not installed: $B/ssan-import"; exit 1; }
fi

export LD_LIBRARY_PATH="$L${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GST_PLUGIN_PATH="$L/gstreamer-1.0" GST_PLUGIN_SYSTEM_PATH_1_0=/usr/lib/x86_64-linux-gnu/gstreamer-1.0
export GST_REGISTRY="$tmp/registry.bin"
for e in ssanaction ssantestsrc ssanoverlay ssanpublish; do
  gst-inspect-1.0 "$e" > /dev/null || { echo "installed plugin lacks $e"; exit 1; }
done
"$B/ssan-infer" --model "$S/gst-ssan/models/ssan-demo.safetensors" --info | grep -q '^num_classes: 11$'

cd "$tmp"
# the .pc names the real prefix: point a copy at the DESTDIR
mkdir pc
sed "s|^prefix=.*|prefix=$d$prefix|" "$L/pkgconfig/gstssanmeta-1.0.pc" > pc/gstssanmeta-1.0.pc
flags=$(PKG_CONFIG_PATH="$tmp/pc" pkg-config --cflags --libs gstssanmeta-1.0)
# shellcheck disable=SC2086
${CC:-cc} -Wall -Werror -o "$tmp/ssan-results" "$src/examples/c/ssan-results.c" $flags
"$tmp/ssan-results" --model "$S/gst-ssan/models/ssan-demo.safetensors" > c.txt
[ "$(grep -c '^probe ' c.txt)" -eq 17 ] || { echo "installed C example:"; cat c.txt; exit 1; }
GI_TYPELIB_PATH="$L/girepository-1.0" /usr/bin/python3 "$src/examples/python/ssan-results.py" \
  --model "$S/gst-ssan/models/ssan-demo.safetensors" > py.txt
cmp c.txt py.txt || { echo "installed: C and Python examples differ"; exit 1; }
if [ -x "$B/ssan-import" ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  "$B/ssan-import" --help | grep -q torchvision || { echo "installed ssan-import does not run"; exit 1; }
fi
echo "installed and used: plugin, meta library, typelib, headers, .pc, tools, models"
