#!/usr/bin/env bash
# Configures and builds P402 into $P402_BUILD_DIR (default: <repo>/build). ccache is used when
# present (CMakeLists.txt). Usage: tools/build.sh [ninja targets...]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${P402_BUILD_DIR:-$ROOT/build}"
JOBS="${P402_JOBS:-$(nproc)}"
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE="${P402_BUILD_TYPE:-RelWithDebInfo}"
fi
ninja -C "$BUILD" -j"$JOBS" "$@"
