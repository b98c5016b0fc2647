#!/usr/bin/env bash
# tools/bench/run.sh: THE command that reproduces docs/BENCHMARKS.md.
#
# Builds what it needs (tools/build.sh), installs wrk (and nginx-light) if missing, starts every
# server itself on 127.0.0.1 (never a fixed port; only PIDs it started are stopped, by PID, on any
# exit), and runs the same closed-loop wrk load (HTTP/1.1 keep-alive, one fixed 2-message chat
# request with max_tokens for model gpt-4o-mini) against each target, in the same run:
#
#   direct   wrk -> p402-mock-provider                          (the floor)
#   proxy    wrk -> nginx (bare reverse proxy, keep-alive) -> mock   (the floor of one HTTP hop)
#   portkey  wrk -> @portkey-ai/gateway (Node) -> mock           (WITH_PORTKEY=1; npm install)
#   p402     wrk -> P402 edge -> policy (auth+guard) -> router -> mock, all in the `p402`
#            launcher; the router calls the launcher's in-process openai mock
#   p402-split  the same pipeline as three processes (p402-edge, p402-policy, p402-router; the
#            router calls the standalone mock)
#
# for each request variant (json: plain; sse: "stream":true with include_usage), at each CONCS
# connection count plus PACED cells (a fixed offered rate, default 1,000 req/s). One TSV row per
# cell (results.tsv), full wrk output per cell (raw/), sample answers, machine facts, and summary.md
# (python3 summarize.py) with overhead = p402 - direct and ratios.
#
# Env (defaults):
#   TARGETS="direct proxy p402 p402-split"   WITH_PORTKEY=0 (1 adds portkey)   VARIANTS="json sse"
#   CONCS="1 16 64"   PACED=1000 (req/s; "" = no paced cell)   PACED_CONNS=50
#   DUR=10s  WARMUP=5s (untimed, 16 connections, per target and variant)  THREADS=1 (wrk threads)
#   REPS=1            repeat every cell (rows tagged -rN; summary takes medians)
#   PINNED=0          1: servers on CPUs SUT_CPUS (0), wrk on LOAD_CPUS (1), via taskset
#   P402_MOCK=inproc  p402's upstream: inproc (the launcher's own mock; its CPU is inside the
#                     launcher's and summarize.py subtracts the mock's CPU/request of the direct
#                     row) or external (launcher --no_mock, router pointed at the standalone mock)
#   QUIET_CORES=0.10 QUIET_WINDOW=3 QUIET_MAX=60 QUIET_BUDGET=600 RETRIES=2  (lib.sh: wait for a
#                     quiet box before each cell, re-run a cell when others used > 2*QUIET_CORES)
#   PROXY_WORKERS=1   nginx worker_processes
#   RESULTS=$BUILD/bench/<UTC time>   SKIP_BUILD=0   P402_BUILD_DIR (as tools/build.sh)
#   PEERS=/tmp/p402-bench/peers  PORTKEY_VERSION=1.15.2  (where portkey is npm-installed)
#   PORTKEY_SSE=0     1: also run the sse variant against Portkey (it fails in 1.15.2, see below)
# shellcheck disable=SC2046  # $(pin_srv) / $(pin_load) are unquoted on purpose (see below)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${P402_BUILD_DIR:-$ROOT/build}
WITH_PORTKEY=${WITH_PORTKEY:-0}
TARGETS=${TARGETS:-"direct proxy p402 p402-split"}
# The billing guard's limits for the bench tenant (issue 3 defaults: 1,000 requests/hour, 10 in
# flight, $1,000/day would refuse a load test); all six layers still run on every request.
GUARD_ENV=(P402_POLICY_REQUESTS_PER_HOUR=1000000000 P402_POLICY_MAX_CONCURRENT=100000
           P402_POLICY_DAILY_LIMIT_MICRO_USD=1000000000000000)
if [ "$WITH_PORTKEY" = 1 ] && [[ " $TARGETS " != *" portkey "* ]]; then
  TARGETS=${TARGETS/p402/portkey p402}
  [[ " $TARGETS " == *" portkey "* ]] || TARGETS="$TARGETS portkey"
fi
VARIANTS=${VARIANTS:-"json sse"}
CONCS=${CONCS:-"1 16 64"}
PACED=${PACED-1000}
PACED_CONNS=${PACED_CONNS:-50}
DUR=${DUR:-10s}
WARMUP=${WARMUP:-5s}
THREADS=${THREADS:-1}
REPS=${REPS:-1}
PINNED=${PINNED:-0}
SUT_CPUS=${SUT_CPUS:-0}
LOAD_CPUS=${LOAD_CPUS:-1}
P402_MOCK=${P402_MOCK:-inproc}
RETRIES=${RETRIES:-2}
PROXY_WORKERS=${PROXY_WORKERS:-1}
SKIP_BUILD=${SKIP_BUILD:-0}
PEERS=${PEERS:-/tmp/p402-bench/peers}
PORTKEY_VERSION=${PORTKEY_VERSION:-1.15.2}
PORTKEY_SSE=${PORTKEY_SSE:-0}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=${RESULTS:-$BUILD/bench/$STAMP}
RUN=$RESULTS/run
RAW=$RESULTS/raw
OUT=$RESULTS/results.tsv
DUR_S=${DUR%s}
WARMUP_S=${WARMUP%s}
case "$DUR_S$WARMUP_S" in *[!0-9]*) echo "run.sh: DUR and WARMUP are whole seconds (10s)" >&2; exit 2 ;; esac
case "$P402_MOCK" in inproc|external) ;; *) echo "run.sh: P402_MOCK is inproc or external" >&2; exit 2 ;; esac
mkdir -p "$RUN" "$RAW"
RIG_ROOT_PID=$$
# shellcheck source=lib.sh
. "$HERE/lib.sh"

STARTED=()
cleanup() {
  local p
  for p in "${STARTED[@]:-}"; do [ -n "$p" ] && stop_pid "$p"; done
  STARTED=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Both print a command prefix (taskset …) that callers leave unquoted on purpose (empty = none).
pin_srv() { if [ "$PINNED" = 1 ]; then echo "taskset -c $SUT_CPUS"; fi; }
pin_load() { if [ "$PINNED" = 1 ]; then echo "taskset -c $LOAD_CPUS"; fi; }
has() { [[ " $TARGETS " == *" $1 "* ]]; }

# ---- tools and binaries ---------------------------------------------------------------------
apt_install() {
  command -v apt-get > /dev/null || return 1
  timeout 300 apt-get install -y --no-install-recommends "$@" > "$RUN/apt.log" 2>&1 ||
    { timeout 300 apt-get update > /dev/null 2>&1 && timeout 300 apt-get install -y --no-install-recommends "$@" >> "$RUN/apt.log" 2>&1; }
}
command -v wrk > /dev/null || apt_install wrk || { echo "run.sh: wrk missing and apt-get failed" >&2; exit 1; }
if has proxy && ! command -v nginx > /dev/null; then
  apt_install nginx-light || { echo "run.sh: nginx unavailable; skipping proxy" >&2; TARGETS=${TARGETS/proxy/}; }
fi

MOCK_BIN=$BUILD/tools/mock_provider/p402-mock-provider
P402_BIN=$BUILD/tools/p402/p402
if [ "$SKIP_BUILD" != 1 ]; then
  build_targets=(p402-mock-provider)
  has p402 && build_targets+=(p402)
  has p402-split && build_targets+=(p402-edge p402-router p402-policy)
  P402_BUILD_DIR=$BUILD "$ROOT/tools/build.sh" "${build_targets[@]}"
fi
[ -x "$MOCK_BIN" ] || { echo "run.sh: $MOCK_BIN not built" >&2; exit 1; }
if has p402 && [ ! -x "$P402_BIN" ]; then echo "run.sh: $P402_BIN not built" >&2; exit 1; fi
if has p402-split; then
  for b in services/edge/p402-edge services/router/p402-router services/policy/p402-policy; do
    [ -x "$BUILD/$b" ] || { echo "run.sh: $BUILD/$b not built" >&2; exit 1; }
  done
fi

PORTKEY_JS=$PEERS/node_modules/@portkey-ai/gateway/build/start-server.js
if has portkey && [ ! -f "$PORTKEY_JS" ]; then
  command -v npm > /dev/null || { echo "run.sh: portkey needs node and npm" >&2; exit 1; }
  mkdir -p "$PEERS"
  [ -f "$PEERS/package.json" ] || echo '{"name":"p402-bench-peers","private":true}' > "$PEERS/package.json"
  (cd "$PEERS" && timeout 600 npm install --no-audit --no-fund "@portkey-ai/gateway@$PORTKEY_VERSION") \
    > "$RUN/npm.log" 2>&1 || { echo "run.sh: npm install of Portkey failed (see $RUN/npm.log)" >&2; exit 1; }
fi

# ---- machine facts --------------------------------------------------------------------------
{
  echo "date_utc	$(date -u +%FT%TZ)"
  echo "nproc	$(nproc)"
  echo "cpu_model	$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: *//')"
  echo "kernel	$(uname -r)"
  echo "loadavg_start	$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "wrk	$(wrk -v 2>&1 | head -1 | cut -c1-60)"
  command -v nginx > /dev/null && echo "nginx	$(nginx -v 2>&1 | sed 's/^nginx version: //')"
  has portkey && echo "node	$(node --version) portkey $PORTKEY_VERSION"
  echo "git	$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo ' (dirty tree)')"
  echo "build_type	$(grep -m1 '^CMAKE_BUILD_TYPE' "$BUILD/CMakeCache.txt" 2>/dev/null | cut -d= -f2)"
  echo "pinned	$PINNED$([ "$PINNED" = 1 ] && echo " (servers on cpu $SUT_CPUS, wrk on cpu $LOAD_CPUS)")"
  echo "p402_mock	$P402_MOCK"
  echo "settings	DUR=$DUR WARMUP=$WARMUP THREADS=$THREADS CONCS=\"$CONCS\" PACED=\"$PACED\" PACED_CONNS=$PACED_CONNS REPS=$REPS PROXY_WORKERS=$PROXY_WORKERS QUIET_CORES=$QUIET_CORES"
} > "$RESULTS/machine.tsv"

printf 'time\ttarget\tvariant\ttag\tconns\tpaced_rps\tthreads\tdur_s\trequests\trps\tp50_ms\tp90_ms\tp99_ms\tp999_ms\tmax_ms\terrors\tsut_cpu_us_per_req\tsut_cores\tmock_cpu_us_per_req\tmock_in_sut\tbg_cores\n' > "$OUT"

# ---- servers --------------------------------------------------------------------------------
MOCK_PID="" MOCK_PORT=""
start_mock() {
  rm -f "$RUN/mock.ready"
  $(pin_srv) "$MOCK_BIN" --listen=127.0.0.1:0 --name=openai --ready_file="$RUN/mock.ready" \
    > "$RUN/mock.log" 2>&1 < /dev/null &
  MOCK_PID=$!; STARTED+=("$MOCK_PID")
  wait_ready_file "$RUN/mock.ready" "$MOCK_PID" 20
  MOCK_PORT=$(json_get "$RUN/mock.ready" http_port)
  echo "mock: pid $MOCK_PID port $MOCK_PORT"
}

SRV_PID="" SRV_PORT="" SRV_HDRS=() SRV_KEY=""
MOCK_AUTH=(-H 'Authorization: Bearer sk-bench-mock')  # the mock takes any bearer key
start_target() {  # sets SRV_PID (the server charged with CPU; empty = the mock), SRV_PORT, SRV_HDRS
  SRV_PID="" SRV_PORT="" SRV_HDRS=("${MOCK_AUTH[@]}")
  case "$1" in
    direct) SRV_PORT=$MOCK_PORT ;;
    proxy)
      SRV_PORT=$(free_port)
      sed -e "s#@RUN@#$RUN#g" -e "s#@WORKERS@#$PROXY_WORKERS#g" -e "s#@PORT@#$SRV_PORT#g" \
        -e "s#@UPSTREAM_PORT@#$MOCK_PORT#g" "$HERE/proxy-nginx.conf.in" > "$RUN/proxy.conf"
      nginx -t -q -p "$RUN/" -e "$RUN/proxy-error.log" -c "$RUN/proxy.conf"
      $(pin_srv) nginx -p "$RUN/" -e "$RUN/proxy-error.log" -c "$RUN/proxy.conf" \
        > "$RUN/proxy.log" 2>&1 < /dev/null &
      SRV_PID=$!; STARTED+=("$SRV_PID")
      wait_port "$SRV_PORT" "$SRV_PID" 20 ;;
    portkey)
      rm -f "$RUN/portkey.ready"
      # --headless, NODE_ENV=production: no log UI, no dev extras (as perf-rig runs it).
      # portkey-loopback.cjs binds it to 127.0.0.1 on a free port and writes the ready file.
      NODE_ENV=production BENCH_PORT=0 BENCH_READY_FILE="$RUN/portkey.ready" \
        $(pin_srv) node --require "$HERE/portkey-loopback.cjs" "$PORTKEY_JS" --headless \
        > "$RUN/portkey.log" 2>&1 < /dev/null &
      SRV_PID=$!; STARTED+=("$SRV_PID")
      wait_ready_file "$RUN/portkey.ready" "$SRV_PID" 60
      SRV_PORT=$(json_get "$RUN/portkey.ready" http_port)
      SRV_HDRS+=(-H 'x-portkey-provider: openai' -H "x-portkey-custom-host: http://127.0.0.1:$MOCK_PORT/v1") ;;
    p402)
      rm -f "$RUN/p402.ready"
      # GUARD_ENV: every guard layer still runs; only its limits are raised (a load test is not
      # meant to measure the 1,000 req/h default rate limit).
      SRV_KEY="sk-p402-bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
      local extra=() env_extra=()
      if [ "$P402_MOCK" = external ]; then
        extra=(--no_mock)
        env_extra=(OPENAI_API_KEY=sk-bench-mock P402_ROUTER_PROVIDERS=openai
                   "P402_ROUTER_PROVIDER_BASE_URLS=openai=http://127.0.0.1:$MOCK_PORT/v1")
      fi
      # Every listener on an ephemeral loopback port (the launcher puts the internal gRPC and
      # admin ports of policy and router on port 0 itself).
      env P402_DEMO_API_KEY="$SRV_KEY" "${GUARD_ENV[@]}" "${env_extra[@]}" \
        $(pin_srv) "$P402_BIN" --ready_file="$RUN/p402.ready" --http_listen=127.0.0.1:0 \
        --admin_listen=127.0.0.1:0 "${extra[@]}" > "$RUN/p402.log" 2>&1 < /dev/null &
      SRV_PID=$!; STARTED+=("$SRV_PID")
      wait_ready_file "$RUN/p402.ready" "$SRV_PID" 60
      SRV_PORT=$(json_get "$RUN/p402.ready" http_port)
      SRV_HDRS=(-H "Authorization: Bearer $SRV_KEY") ;;
    p402-split)
      # The separate binaries, one process per service, wired over loopback gRPC; the router calls
      # the standalone mock. CPU is charged to all three processes.
      SRV_KEY="sk-p402-bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
      rm -f "$RUN"/split-*.ready
      env P402_POLICY_BOOTSTRAP_API_KEY="$SRV_KEY" "${GUARD_ENV[@]}" \
        $(pin_srv) "$BUILD/services/policy/p402-policy" \
        --grpc_listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 --ready_file="$RUN/split-policy.ready" \
        > "$RUN/split-policy.log" 2>&1 < /dev/null &
      local pol=$!; STARTED+=("$pol")
      OPENAI_API_KEY=sk-bench-mock $(pin_srv) "$BUILD/services/router/p402-router" \
        --grpc_listen=127.0.0.1:0 --admin_listen=127.0.0.1:0 --providers=openai \
        --provider_base_urls="openai=http://127.0.0.1:$MOCK_PORT/v1" \
        --ready_file="$RUN/split-router.ready" > "$RUN/split-router.log" 2>&1 < /dev/null &
      local rtr=$!; STARTED+=("$rtr")
      wait_ready_file "$RUN/split-policy.ready" "$pol" 60
      wait_ready_file "$RUN/split-router.ready" "$rtr" 60
      $(pin_srv) "$BUILD/services/edge/p402-edge" --http_listen=127.0.0.1:0 \
        --admin_listen=127.0.0.1:0 --ready_file="$RUN/split-edge.ready" \
        --policy_addr="127.0.0.1:$(json_get "$RUN/split-policy.ready" grpc_port)" \
        --router_addr="127.0.0.1:$(json_get "$RUN/split-router.ready" grpc_port)" \
        > "$RUN/split-edge.log" 2>&1 < /dev/null &
      local edg=$!; STARTED+=("$edg")
      wait_ready_file "$RUN/split-edge.ready" "$edg" 60
      SRV_PORT=$(json_get "$RUN/split-edge.ready" http_port)
      SRV_PID="$edg $rtr $pol"
      SRV_HDRS=(-H "Authorization: Bearer $SRV_KEY") ;;
    *) echo "run.sh: unknown target $1" >&2; exit 2 ;;
  esac
  echo "$1: ${SRV_PID:+pid $SRV_PID }port $SRV_PORT"
}

stop_target() {  # SRV_PID may list several PIDs (p402-split: edge first, then its backends)
  local p q keep
  for p in $SRV_PID; do
    stop_pid "$p"
    keep=()
    for q in "${STARTED[@]}"; do [ "$q" != "$p" ] && keep+=("$q"); done
    STARTED=("${keep[@]}")
  done
}

# ---- one target x variant -------------------------------------------------------------------
body_of() { if [ "$1" = sse ]; then echo "$HERE/payload-stream.json"; else echo "$HERE/payload.json"; fi; }

sanity() {  # one request must answer 2xx with the mock's reply text (and a complete stream)
  local name=$1 url=$2 body=$3 code; shift 3
  code=$(curl -s --max-time 10 -o "$RAW/$name.sample.txt" -D "$RAW/$name.sample-headers.txt" \
    -w '%{http_code}' -X POST -H 'Content-Type: application/json' "$@" \
    --data-binary @"$body" "$url" || true)
  case "$code" in 2??) ;; *) echo "run.sh: $name sanity request got HTTP $code (see $RAW/$name.sample.txt)" >&2; return 1 ;; esac
  grep -q 'deterministic' "$RAW/$name.sample.txt" ||
    { echo "run.sh: $name answer does not come from the mock (see $RAW/$name.sample.txt)" >&2; return 1; }
  case "$name" in *-sse) grep -q '^data: \[DONE\]' "$RAW/$name.sample.txt" ||
    { echo "run.sh: $name stream has no [DONE] (see $RAW/$name.sample.txt)" >&2; return 1; } ;; esac
}

run_cell() {  # target variant conns paced_rps tag url cpu_pids mock_pids mock_in_sut [-H ...]
  local target=$1 variant=$2 c=$3 rate=$4 tag=$5 url=$6 sut=$7 mock=$8 in_sut=$9; shift 9
  local t=$THREADS pace=0 label raw attempt x s0 m0 f0 s1 m1 f1 line
  [ "$t" -gt "$c" ] && t=$c
  if [ "$rate" != 0 ]; then pace=$(( (c * 1000 + rate / 2) / rate )); [ "$pace" -lt 1 ] && pace=1; fi
  label="$target-$variant-$tag-c$c"
  [ "$rate" = 0 ] || label="$label-at$rate"
  raw="$RAW/$label.txt"
  for attempt in $(seq 1 "$RETRIES"); do
    quiet_wait
    thread_ticks "$sut" > "$RAW/$label.threads0" || true
    read -r s0 m0 f0 < <(ticks "$sut" "$mock") || true
    BODY_FILE=$(body_of "$variant") PACE_DELAY_MS=$pace timeout $((DUR_S + 30)) \
      $(pin_load) wrk -t"$t" -c"$c" -d"$DUR" --timeout 10s --latency -s "$HERE/chat.lua" "$@" "$url" \
      > "$raw" 2>&1 || true
    read -r s1 m1 f1 < <(ticks "$sut" "$mock") || true
    thread_ticks "$sut" > "$RAW/$label.threads1" || true
    x=$(grep '^RESULT ' "$raw" | sed 's/.*"duration_s":\([0-9.]*\).*/\1/') || true
    if awk -v d=$((f1 - f0)) -v hz="$HZ" -v s="${x:-1}" -v q="$QUIET_CORES" 'BEGIN { exit !(d / hz / s <= 2 * q) }'; then break; fi
    [ "$_quiet_spent" -ge "$QUIET_BUDGET" ] && break
    if [ "$attempt" -lt "$RETRIES" ]; then
      echo "  $label: other processes used $(awk -v d=$((f1 - f0)) -v hz="$HZ" -v s="${x:-1}" 'BEGIN { printf "%.2f", d / hz / s }') cores; again" >&2
    fi
  done
  line=$(grep '^RESULT ' "$raw" | sed 's/^RESULT //') || true
  [ -n "$line" ] || { echo "run.sh: no RESULT line from wrk, see $raw" >&2; return 1; }
  # Where the server under test spent its CPU: µs per request by process/thread name.
  thread_delta "$RAW/$label.threads0" "$RAW/$label.threads1" \
    "$(printf '%s' "$line" | sed 's/.*"requests":\([0-9]*\).*/\1/')" > "$RAW/$label.threads.tsv" || true
  rm -f "$RAW/$label.threads0" "$RAW/$label.threads1"
  printf '%s' "$line" | awk -v target="$target" -v variant="$variant" -v tag="$tag" -v c="$c" \
      -v rate="$rate" -v t="$t" -v ds=$((s1 - s0)) -v dm=$((m1 - m0)) -v df=$((f1 - f0)) \
      -v hz="$HZ" -v has_mock="$mock" -v in_sut="$in_sut" -v now="$(date -u +%FT%TZ)" '
    function get(k,   m) { if (match($0, "\"" k "\":[-0-9.e+]+")) { m = substr($0, RSTART, RLENGTH); sub(/^[^:]*:/, "", m); return m + 0 } return 0 }
    {
      req = get("requests"); dur = get("duration_s")
      err = get("err_connect") + get("err_read") + get("err_write") + get("err_status") + get("err_timeout")
      per = req > 0 ? sprintf("%.1f", ds / hz * 1e6 / req) : "-"
      cores = dur > 0 ? sprintf("%.2f", ds / hz / dur) : "-"
      mper = (has_mock != "" && req > 0) ? sprintf("%.1f", dm / hz * 1e6 / req) : "-"
      bg = dur > 0 ? df / hz / dur : 0
      printf "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%.2f\t%d\t%.0f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%s\t%s\t%s\t%d\t%.2f\n",
        now, target, variant, tag, c, rate, t, dur, req, get("rps"), get("p50_us")/1000, get("p90_us")/1000,
        get("p99_us")/1000, get("p999_us")/1000, get("max_us")/1000, err, per, cores, mper, in_sut, bg
    }' | tee -a "$OUT"
}

run_target() {
  local target=$1 variant url sut mock in_sut=0 r tag c rate base
  start_target "$target"
  url="http://127.0.0.1:$SRV_PORT/v1/chat/completions"
  if [ -z "$SRV_PID" ]; then sut=$MOCK_PID; mock=""; else sut=$SRV_PID; mock=$MOCK_PID; fi
  if [ "$target" = p402 ] && [ "$P402_MOCK" = inproc ]; then in_sut=1; mock=""; fi
  base=$([ "$PINNED" = 1 ] && echo pinned || echo unpinned)
  for variant in $VARIANTS; do
    if [ "$target" = portkey ] && [ "$variant" = sse ] && [ "$PORTKEY_SSE" != 1 ]; then
      # Portkey 1.15.2 answers every stream with HTTP 500 on Node (TypeError: immutable in
      # ResponseService.updateHeaders; Portkey-AI/gateway#1550, #1389). PORTKEY_SSE=1 tries anyway.
      echo "portkey: sse variant skipped (Portkey's stream path fails on Node; see BENCHMARKS.md)" >&2
      continue
    fi
    sanity "$target-$variant" "$url" "$(body_of "$variant")" "${SRV_HDRS[@]}"
    BODY_FILE=$(body_of "$variant") timeout $((WARMUP_S + 30)) $(pin_load) \
      wrk -t1 -c16 -d"$WARMUP" -s "$HERE/chat.lua" "${SRV_HDRS[@]}" "$url" > /dev/null 2>&1 || true
    for r in $(seq 1 "$REPS"); do
      tag=$base; [ "$REPS" -gt 1 ] && tag="$base-r$r"
      for c in $CONCS; do
        run_cell "$target" "$variant" "$c" 0 "$tag" "$url" "$sut" "$mock" "$in_sut" "${SRV_HDRS[@]}"
      done
      for rate in $PACED; do
        run_cell "$target" "$variant" "$PACED_CONNS" "$rate" "$tag" "$url" "$sut" "$mock" "$in_sut" "${SRV_HDRS[@]}"
      done
    done
  done
  stop_target
}

echo "results: $RESULTS"
start_mock
for target in $TARGETS; do run_target "$target"; done
cleanup
echo "loadavg_end	$(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/machine.tsv"
python3 "$HERE/summarize.py" "$RESULTS" > "$RESULTS/summary.md"
ln -sfn "$RESULTS" "$(dirname "$RESULTS")/latest" 2>/dev/null || true
cat "$RESULTS/summary.md"
