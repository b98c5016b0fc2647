#!/usr/bin/env bash
# File: tools/pg/pg_stop.sh
# Stops a PostgreSQL started by tools/pg/pg_start.sh and deletes its data directory.
#
# Usage: tools/pg/pg_stop.sh <datadir>
#   Stops the server with `pg_ctl stop -m fast` (bounded by PG_STOP_TIMEOUT, default 30 s); if it
#   does not stop in time, sends SIGKILL to the postmaster recorded in <datadir>/postmaster.pid
#   (only that process: the one pg_start.sh started). Then removes <datadir>. A directory that does
#   not exist is not an error; one that does not look like a pg_start.sh cluster is left alone.
set -euo pipefail

die() {
  echo "pg_stop: $*" >&2
  exit 1
}

[[ $# -eq 1 && -n "$1" ]] || die "usage: $0 <datadir>"
readonly TIMEOUT="${PG_STOP_TIMEOUT:-30}"
[[ "$TIMEOUT" =~ ^[0-9]+$ && "$TIMEOUT" -gt 0 ]] || die "PG_STOP_TIMEOUT must be a positive integer"
if [[ ! -e "$1" ]]; then
  exit 0
fi
DATADIR="$(cd -- "$1" && pwd -P)"
[[ "$DATADIR" != "/" ]] || die "refusing to remove /"
# Guard the rm -rf below: only directories that pg_start.sh created.
[[ -f "$DATADIR/PG_VERSION" || -f "$DATADIR/pg.env" || -z "$(ls -A -- "$DATADIR")" ]] ||
  die "'$DATADIR' is not a data directory made by pg_start.sh; not touching it"

find_bin() {
  if [[ -n "${PG_BIN:-}" ]]; then
    echo "$PG_BIN"
  elif [[ -f "$DATADIR/PG_VERSION" ]] &&
    [[ -x "/usr/lib/postgresql/$(cat "$DATADIR/PG_VERSION")/bin/pg_ctl" ]]; then
    echo "/usr/lib/postgresql/$(cat "$DATADIR/PG_VERSION")/bin"
  elif command -v pg_config >/dev/null 2>&1; then
    pg_config --bindir
  fi
}
BIN="$(find_bin)"

RUN_AS=()
if [[ "$(id -u)" -eq 0 ]] && id -u postgres >/dev/null 2>&1; then
  if command -v runuser >/dev/null 2>&1; then
    RUN_AS=(runuser -u postgres --)
  else
    RUN_AS=(su_postgres)
  fi
fi
su_postgres() { su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; }
as_pg() { (cd / && "${RUN_AS[@]}" "$@"); }

if [[ -f "$DATADIR/postmaster.pid" ]]; then
  pid="$(head -n 1 "$DATADIR/postmaster.pid")"
  if [[ -n "$BIN" && -x "$BIN/pg_ctl" ]] &&
    as_pg "$BIN/pg_ctl" -D "$DATADIR" -m fast -w -t "$TIMEOUT" -s stop >&2; then
    :
  elif [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DATADIR"; then
    # The pid file can be stale: only kill a process whose command line names this cluster.
    echo "pg_stop: pg_ctl stop failed; killing postmaster $pid" >&2
    kill -KILL "$pid" 2>/dev/null || true
    # The postmaster's children exit when it dies; wait for it to disappear (bounded).
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
fi
rm -rf -- "$DATADIR"
