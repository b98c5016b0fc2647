#!/usr/bin/env bash
# Installs the Node packages the end-to-end tests drive the edge with (the official `openai` SDK),
# into tests/e2e/node/node_modules, from the lockfile when present.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="$ROOT/tests/e2e/node"
[ -f "$DIR/package.json" ] || exit 0
if [ ! -d "$DIR/node_modules/openai" ]; then
  (cd "$DIR" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --silent; else npm install --no-audit --no-fund --silent; fi)
fi
