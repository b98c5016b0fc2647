#!/usr/bin/env bash
# THE test command (README; .ci/run calls exactly this): installs missing packages, builds
# everything, starts a throwaway PostgreSQL on loopback, runs every test with ctest, stops the
# database. Extra arguments go to ctest (e.g. tools/test.sh -L unit).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${P402_BUILD_DIR:-$ROOT/build}"

"$ROOT/tools/install_deps.sh"
"$ROOT/tools/build.sh"
"$ROOT/tools/e2e_deps.sh"

PGDIR="$(mktemp -d /tmp/p402-test-pg.XXXXXX)"
cleanup() { "$ROOT/tools/pg/pg_stop.sh" "$PGDIR" >/dev/null 2>&1 || true; }
trap cleanup EXIT
"$ROOT/tools/pg/pg_start.sh" "$PGDIR" >/dev/null
# shellcheck disable=SC1091
source "$PGDIR/pg.env"
export P402_TEST_PG_DSN="$DSN"
export P402_BUILD_DIR="$BUILD"
export P402_SOURCE_DIR="$ROOT"

cd "$BUILD"
ctest --output-on-failure --timeout 600 -j"${P402_TEST_JOBS:-2}" "$@"
