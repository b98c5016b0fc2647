#!/usr/bin/env bash
# tools/bench/guard.sh: reproduces the "billing guard" table of docs/BENCHMARKS.md.
#
# Builds p402-guard-bench, starts a throwaway PostgreSQL (tools/pg/pg_start.sh) and a redis-server
# on loopback, runs the bench (in-memory stores, PostgreSQL, and Redis for layers 1-4; 1 and
# THREADS threads), then stops both servers by PID. Prints the TSV of p402-guard-bench.
#
# Env: REQUESTS=20000 THREADS=4 WARMUP=1000  SKIP_BUILD=0  P402_BUILD_DIR (as tools/build.sh)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${P402_BUILD_DIR:-$ROOT/build}
REQUESTS=${REQUESTS:-20000}
THREADS=${THREADS:-4}
WARMUP=${WARMUP:-1000}

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  P402_BUILD_DIR=$BUILD "$ROOT/tools/build.sh" >&2
fi
work=$(mktemp -d /tmp/p402-guard-bench.XXXXXX)
chmod o+x "$work"  # the PostgreSQL server may run as the postgres user
redis_pid=""
cleanup() {
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
  "$ROOT/tools/pg/pg_stop.sh" "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

eval "$("$ROOT/tools/pg/pg_start.sh" "$work/pg")"
pg_dsn=$DSN
redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work/redis" \
  >"$work/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null; then break; fi
  sleep 0.05
done

P402_BENCH_PG_DSN=$pg_dsn P402_BENCH_REDIS_URL="redis://127.0.0.1:$redis_port" \
  "$BUILD/tools/bench/p402-guard-bench" --requests "$REQUESTS" --threads "$THREADS" \
  --warmup "$WARMUP"
