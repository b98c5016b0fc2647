#!/usr/bin/env bash
# File: tools/pg/pg_ctl.sh
# Stops or starts again a PostgreSQL made by tools/pg/pg_start.sh, KEEPING its data directory:
# for fault tests ("the database goes away, then comes back") and for pausing a dev server.
#
# Usage: tools/pg/pg_ctl.sh <datadir> stop|start|status
#   stop    `pg_ctl stop -m immediate`: the postmaster and its backends exit at once, client
#           connections are cut, nothing is checkpointed (like a crash; the next start runs crash
#           recovery). Committed transactions survive only if they reached the WAL, see
#           PG_START_SYNCHRONOUS_COMMIT in pg_start.sh. Already stopped: not an error.
#   start   `pg_ctl start` on the SAME port (it is in <datadir>/p402_port.conf), waiting until the
#           server accepts connections; prints PID=<postmaster pid> on stdout. Already running:
#           not an error. Fails (log tail on stderr) when the port was taken meanwhile.
#   status  exit 0 when the server runs, 3 when it does not (pg_ctl status).
#   Deleting the cluster is tools/pg/pg_stop.sh's job.
#
# Environment: PG_BIN as in pg_start.sh (default: the bin dir of the cluster's PG_VERSION);
#   PG_CTL_TIMEOUT seconds to wait for stop/start (default 30).
# Runs as root too: the server tools then run as the `postgres` user, as in pg_start.sh.
set -euo pipefail

die() {
  echo "pg_ctl: $*" >&2
  exit 1
}

[[ $# -eq 2 && -n "$1" ]] || die "usage: $0 <datadir> stop|start|status"
readonly ACTION="$2"
readonly TIMEOUT="${PG_CTL_TIMEOUT:-30}"
[[ "$TIMEOUT" =~ ^[0-9]+$ && "$TIMEOUT" -gt 0 ]] || die "PG_CTL_TIMEOUT must be a positive integer"
[[ -d "$1" ]] || die "no data directory '$1'"
DATADIR="$(cd -- "$1" && pwd -P)"
[[ -f "$DATADIR/PG_VERSION" && -f "$DATADIR/pg.env" ]] ||
  die "'$DATADIR' is not a cluster made by tools/pg/pg_start.sh"

find_bin() {
  if [[ -n "${PG_BIN:-}" ]]; then
    echo "$PG_BIN"
  elif [[ -x "/usr/lib/postgresql/$(cat "$DATADIR/PG_VERSION")/bin/pg_ctl" ]]; then
    echo "/usr/lib/postgresql/$(cat "$DATADIR/PG_VERSION")/bin"
  elif command -v pg_config >/dev/null 2>&1; then
    pg_config --bindir
  fi
}
BIN="$(find_bin)"
[[ -n "$BIN" && -x "$BIN/pg_ctl" ]] || die "pg_ctl not found (set PG_BIN)"

RUN_AS=()
if [[ "$(id -u)" -eq 0 ]]; then
  id -u postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user"
  if command -v runuser >/dev/null 2>&1; then
    RUN_AS=(runuser -u postgres --)
  else
    RUN_AS=(su_postgres)
  fi
fi
su_postgres() { su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; }
# From a directory the server's user can enter (root's cwd may be 0700).
as_pg() { (cd "$DATADIR" && "${RUN_AS[@]}" "$@"); }

running() { as_pg "$BIN/pg_ctl" -D "$DATADIR" status >/dev/null 2>&1; }

case "$ACTION" in
  stop)
    if running; then
      as_pg "$BIN/pg_ctl" -D "$DATADIR" -m immediate -w -t "$TIMEOUT" -s stop >&2 ||
        die "pg_ctl stop -m immediate failed for $DATADIR"
    fi
    ;;
  start)
    if ! running; then
      LOGFILE="$DATADIR/postgres.log"
      if ! as_pg "$BIN/pg_ctl" -D "$DATADIR" -l "$LOGFILE" -w -t "$TIMEOUT" -s start >&2; then
        tail -n 20 "$LOGFILE" >&2 || true
        die "PostgreSQL did not start again from $DATADIR (log: $LOGFILE)"
      fi
    fi
    PID="$(head -n 1 "$DATADIR/postmaster.pid")"
    [[ "$PID" =~ ^[0-9]+$ ]] || die "cannot read the postmaster pid"
    echo "PID=$PID"
    ;;
  status)
    if running; then exit 0; else exit 3; fi
    ;;
  *)
    die "unknown action '$ACTION' (stop|start|status)"
    ;;
esac
