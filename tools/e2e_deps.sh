#!/usr/bin/env bash
# Installs the Node packages the end-to-end tests use, from their lockfiles:
#   tests/e2e/node  the official `openai` SDK that drives the edge;
#   tests/e2e/x402  the local chain (ganache, solc-js, viem) and the official x402 clients and
#                   servers (x402-fetch/x402-express 1.2.0, @x402/* 2.27.0) of the x402 tests;
#                   ~600 packages, ~900 MB, about a minute (X402.md 3.1).
# A package whose node_modules is already there is left alone (delete node_modules to reinstall).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

# install DIR MARKER: npm ci (lockfile) or npm install (no lockfile yet) when DIR/node_modules/MARKER
# is missing.
install() {
  local dir="$1" marker="$2"
  [ -f "$dir/package.json" ] || return 0
  if [ ! -e "$dir/node_modules/$marker" ]; then
    echo "e2e_deps: installing ${dir#"$ROOT"/}" >&2
    (cd "$dir" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --silent; else npm install --no-audit --no-fund --silent; fi)
  fi
}

install "$ROOT/tests/e2e/node" openai
install "$ROOT/tests/e2e/x402" .bin/ganache
