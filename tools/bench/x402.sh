#!/usr/bin/env bash
# tools/bench/x402.sh: reproduces the "x402 verification" table of docs/BENCHMARKS.md.
#
# Builds p402-x402-verify-bench, starts a throwaway PostgreSQL (tools/pg/pg_start.sh), runs the
# bench with 1 and THREADS threads (header decode + verify; the settlement engine's verify with a
# nonce claim in memory and in PostgreSQL), then stops the database. Prints the bench's TSV.
#
# Env: PAYMENTS=20000 THREADS=2  SKIP_BUILD=0  P402_BUILD_DIR (as tools/build.sh)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${P402_BUILD_DIR:-$ROOT/build}
PAYMENTS=${PAYMENTS:-20000}
THREADS=${THREADS:-2}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  P402_BUILD_DIR=$BUILD "$ROOT/tools/build.sh" >&2
fi
work=$(mktemp -d /tmp/p402-x402-bench.XXXXXX)
chmod o+x "$work"  # the PostgreSQL server may run as the postgres user
cleanup() {
  "$ROOT/tools/pg/pg_stop.sh" "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
eval "$("$ROOT/tools/pg/pg_start.sh" "$work/pg")"

bench="$BUILD/tools/bench/p402-x402-verify-bench"
P402_BENCH_PG_DSN=$DSN "$bench" --payments "$PAYMENTS" --threads 1
P402_BENCH_PG_DSN=$DSN "$bench" --payments "$PAYMENTS" --threads "$THREADS" | tail -n +2
