#!/usr/bin/env bash
# THE run command (README): installs missing packages, builds, and starts the whole suite in one
# process (`p402`: mock providers + policy + router + settlement + edge on loopback, in-memory
# stores, a demo tenant with a fresh API key), then prints a working curl and the OpenAI SDK base
# URL.
# Ctrl-C stops it. Arguments go to `p402` (see `build/tools/p402/p402 --help`).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${P402_BUILD_DIR:-$ROOT/build}"

"$ROOT/tools/install_deps.sh"
"$ROOT/tools/build.sh" p402 p402-edge p402-router p402-policy p402-settlement p402-mock-provider
exec "$BUILD/tools/p402/p402" "$@"
