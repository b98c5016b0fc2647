# shellcheck shell=bash
# tools/bench/lib.sh: helpers for run.sh (source it; bash). CPU accounting and the quiet-box logic
# follow the perf-rig method (/work/shared/reference/perf-rig): utime+stime from /proc/<pid>/stat,
# summed over whole process trees, sampled before and after each run.
#
#   ticks SUT_PIDS MOCK_PIDS      prints "SUT MOCK FOREIGN" clock ticks: the process trees of
#                                 SUT_PIDS, of MOCK_PIDS, and of every process outside this rig
#                                 (not in the tree of run.sh, not a kernel thread). Each process
#                                 counts utime+stime+cutime+cstime: a process that exits during a
#                                 run (a compiler under ninja) moves its CPU into its parent's
#                                 cutime once reaped instead of vanishing from the sum (which made
#                                 background load come out negative)
#   quiet_wait                    waits until foreign load is low (bounded, see QUIET_* below)
#   wait_ready_file FILE PID SECS waits until FILE exists and PID is alive; fails otherwise
#   json_get FILE KEY             prints the integer KEY of a flat JSON object file
#   free_port                     prints a free loopback TCP port (for nginx, which cannot report one)
#   wait_port PORT PID SECS       waits until 127.0.0.1:PORT accepts connections and PID is alive
#   stop_pid PID                  SIGTERM to that PID only, SIGKILL after 5 s
#
# Env: QUIET_CORES=0.10 QUIET_WINDOW=3 QUIET_MAX=60 QUIET_BUDGET=600 (seconds of waiting allowed in
# the whole run; after that every cell is measured at once and bg_cores says how busy the box was).
HZ=${HZ:-$(getconf CLK_TCK)}
QUIET_CORES=${QUIET_CORES:-0.10}
QUIET_WINDOW=${QUIET_WINDOW:-3}
QUIET_MAX=${QUIET_MAX:-60}
QUIET_BUDGET=${QUIET_BUDGET:-600}
RIG_ROOT_PID=${RIG_ROOT_PID:-$$}
_quiet_spent=0

ticks() {
  # cat, not awk, opens the files: a process may exit between the glob and the read (cat then
  # fails, which must not stop a `set -eo pipefail` caller).
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v sut="${1:-}" -v mock="${2:-}" \
      -v ours="$RIG_ROOT_PID 2" '
    {
      pid = $1; s = $0; sub(/^.*\) /, "", s); split(s, f, " ")
      ppid[pid] = f[2]; tk[pid] = f[12] + f[13] + f[14] + f[15]
    }
    function mark(roots, set,   n, r, i, ch, p) {
      n = split(roots, r, " "); for (i = 1; i <= n; i++) if (r[i] != "") set[r[i]] = 1
      ch = 1; while (ch) { ch = 0; for (p in ppid) if (!(p in set) && (ppid[p] in set)) { set[p] = 1; ch = 1 } }
    }
    END {
      mark(sut, S); mark(mock, M); mark(ours, O); a = 0; m = 0; b = 0
      for (p in tk) { if (p in S) a += tk[p]; else if (p in M) m += tk[p]; if (!(p in O)) b += tk[p] }
      print a, m, b
    }'
}

quiet_wait() {
  local waited=0 f0 f1
  while :; do
    if [ "$_quiet_spent" -ge "$QUIET_BUDGET" ]; then return 0; fi
    read -r _ _ f0 < <(ticks "" "") || true
    sleep "$QUIET_WINDOW"
    read -r _ _ f1 < <(ticks "" "") || true
    if awk -v d=$((f1 - f0)) -v hz="$HZ" -v q="$QUIET_CORES" -v w="$QUIET_WINDOW" \
        'BEGIN { exit !(d / hz / w <= q) }'; then return 0; fi
    waited=$((waited + QUIET_WINDOW)); _quiet_spent=$((_quiet_spent + QUIET_WINDOW))
    if [ "$waited" -ge "$QUIET_MAX" ]; then
      echo "bench: box still busy after ${QUIET_MAX}s; measuring anyway (see bg_cores)" >&2
      return 0
    fi
    if [ "$_quiet_spent" -ge "$QUIET_BUDGET" ]; then
      echo "bench: quiet-wait budget (${QUIET_BUDGET}s) used up; measuring without waiting" >&2
      return 0
    fi
  done
}

wait_ready_file() {
  local file=$1 pid=$2 secs=$3 i
  for ((i = 0; i < secs * 20; i++)); do
    [ -s "$file" ] && return 0
    kill -0 "$pid" 2>/dev/null || { echo "bench: pid $pid exited before writing $file" >&2; return 1; }
    sleep 0.05
  done
  echo "bench: no $file after ${secs}s" >&2
  return 1
}

json_get() {
  python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))[sys.argv[2]]))' "$1" "$2"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
  local port=$1 pid=$2 secs=$3 i
  for ((i = 0; i < secs * 20; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "bench: pid $pid exited" >&2; return 1; }
    sleep 0.05
  done
  echo "bench: nothing listening on 127.0.0.1:$port after ${secs}s" >&2
  return 1
}

stop_pid() {
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

# thread_ticks PIDS: one line per thread of the process trees of PIDS: "PROCESS/THREAD TICKS"
# (utime+stime; comm names, so threads named by their library group together). Two samples
# subtracted with thread_delta show where a server spends its CPU (e.g. HTTP io vs gRPC threads).
thread_ticks() {
  local roots=$1 p all
  all=$({ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v roots="$roots" '
    { pid = $1; s = $0; sub(/^.*\) /, "", s); split(s, f, " "); ppid[pid] = f[2] }
    END {
      n = split(roots, r, " "); for (i = 1; i <= n; i++) set[r[i]] = 1
      ch = 1; while (ch) { ch = 0; for (p in ppid) if (!(p in set) && (ppid[p] in set)) { set[p] = 1; ch = 1 } }
      for (p in set) print p
    }')
  for p in $all; do
    local pname
    pname=$(cat "/proc/$p/comm" 2>/dev/null) || continue
    { cat /proc/"$p"/task/[0-9]*/stat 2>/dev/null || true; } | awk -v pn="$pname" '
      { tid = $1; c = $0; sub(/^[^(]*\(/, "", c); sub(/\).*$/, "", c); s = $0; sub(/^.*\) /, "", s)
        split(s, f, " "); print pn "/" c "#" tid, f[12] + f[13] }'
  done
  return 0
}

# thread_delta BEFORE_FILE AFTER_FILE REQUESTS: CPU µs per request by PROCESS/THREAD-NAME (threads
# with the same name summed), largest first; threads that did not exist before count from zero.
thread_delta() {
  awk -v hz="$HZ" -v req="$3" '
    FNR == NR { b[$1] = $2; next }
    { name = $1; sub(/#[0-9]+$/, "", name); d[name] += $2 - ($1 in b ? b[$1] : 0); n[name]++ }
    END { for (k in d) if (d[k] > 0) printf "%s\t%d\t%.1f\n", k, n[k], d[k] / hz * 1e6 / (req > 0 ? req : 1) }
  ' "$1" "$2" | sort -t"$(printf '\t')" -k3,3 -rn
}
