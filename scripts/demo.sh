#!/bin/sh
# The main job on a fresh Debian 12 machine: installs what is missing, builds,
# and runs ssantestsrc -> ssanaction (bundled model) -> ssanoverlay -> demo.webm,
# printing each recognised action beside the true one, then the accuracy, and
# writing demo-contact.png.
#   scripts/demo.sh                 synthetic clips (held-out seed)
#   scripts/demo.sh video.mp4       a file (anything decodebin plays)
#   scripts/demo.sh /dev/video0     a camera (Ctrl-C ends it cleanly)
set -eu
cd "$(dirname "$0")/.."
scripts/setup-debian.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
export GST_PLUGIN_PATH="$PWD/build/plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
if [ $# -gt 0 ]; then
  exec build/tools/ssan-demo --source "$1"
fi
exec build/tools/ssan-demo
