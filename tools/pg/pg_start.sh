#!/usr/bin/env bash
# File: tools/pg/pg_start.sh
# Starts a throwaway PostgreSQL for tests and local development. NOT for production: durability is
# switched off (fsync, synchronous_commit and full_page_writes are off; see
# PG_START_SYNCHRONOUS_COMMIT) and loopback clients are trusted without a password.
#
# Usage: tools/pg/pg_start.sh <datadir>
#   <datadir> must not exist or be empty; it becomes the cluster's data directory and also holds
#   the unix socket, the server log (postgres.log) and pg.env.
#   On success prints, on stdout only (progress and errors go to stderr):
#     DSN=postgresql://postgres@127.0.0.1:PORT/p402_test
#     PORT=PORT
#     PID=<postmaster pid>
#   and writes the same lines to <datadir>/pg.env, so both of these work:
#     eval "$(tools/pg/pg_start.sh /tmp/p402-pg)"; export P402_TEST_PG_DSN="$DSN"
#     . /tmp/p402-pg/pg.env
#   Stop it with tools/pg/pg_stop.sh <datadir> (which deletes <datadir>); stop and start it again
#   on the same port, keeping its data, with tools/pg/pg_ctl.sh <datadir> stop|start.
#
# Environment:
#   PG_BIN           directory of initdb/pg_ctl/postgres (default: /usr/lib/postgresql/15/bin, else
#                    the newest /usr/lib/postgresql/*/bin, else `pg_config --bindir`)
#   PG_START_TIMEOUT seconds to wait for the server to accept connections (default 30)
#   PG_START_SYNCHRONOUS_COMMIT  on|off (default off). Crash tests that stop the server with
#                    `tools/pg/pg_ctl.sh <datadir> stop` (-m immediate) and expect every committed
#                    transaction to survive need `on`: with `off` a commit of the last few hundred
#                    ms may still sit in the WAL buffers when the server dies.
#
# Runs as root too: initdb refuses root, so the server then runs as the `postgres` system user
# (created when missing) and <datadir> is chowned to it. Exit status is non-zero with a message on
# stderr on any failure; a server that started but failed a later step is stopped again.
set -euo pipefail

die() {
  echo "pg_start: $*" >&2
  exit 1
}
log() { echo "pg_start: $*" >&2; }

[[ $# -eq 1 && -n "$1" ]] || die "usage: $0 <datadir>"
readonly TIMEOUT="${PG_START_TIMEOUT:-30}"
[[ "$TIMEOUT" =~ ^[0-9]+$ && "$TIMEOUT" -gt 0 ]] ||
  die "PG_START_TIMEOUT must be a positive integer"
readonly SYNC_COMMIT="${PG_START_SYNCHRONOUS_COMMIT:-off}"
[[ "$SYNC_COMMIT" == on || "$SYNC_COMMIT" == off ]] ||
  die "PG_START_SYNCHRONOUS_COMMIT must be on or off"

# --- locate the server binaries ------------------------------------------------------------------
find_bin() {
  if [[ -n "${PG_BIN:-}" ]]; then
    echo "$PG_BIN"
    return
  fi
  if [[ -x /usr/lib/postgresql/15/bin/initdb ]]; then
    echo /usr/lib/postgresql/15/bin
    return
  fi
  local d
  d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  if [[ -n "$d" && -x "$d/initdb" ]]; then
    echo "$d"
    return
  fi
  if command -v pg_config >/dev/null 2>&1; then
    pg_config --bindir
  fi
}
BIN="$(find_bin)"
for tool in initdb pg_ctl postgres psql; do
  [[ -n "$BIN" && -x "$BIN/$tool" ]] ||
    die "PostgreSQL server binary '$tool' not found" \
      "(looked in '${BIN:-/usr/lib/postgresql/*/bin}');" \
      "install the server, e.g. 'apt-get install -y postgresql-15', or set PG_BIN"
done

# --- the data directory --------------------------------------------------------------------------
mkdir -p -- "$1" || die "cannot create data directory '$1'"
DATADIR="$(cd -- "$1" && pwd -P)"
[[ -z "$(ls -A -- "$DATADIR")" ]] ||
  die "data directory '$DATADIR' is not empty" \
    "(a server may still run there: tools/pg/pg_stop.sh '$DATADIR')"
# The unix socket path (<datadir>/.s.PGSQL.<port>) must fit in sun_path (107 bytes).
[[ ${#DATADIR} -le 80 ]] ||
  die "data directory path is too long for a unix socket: '$DATADIR' (max 80 chars)"
chmod 0700 "$DATADIR"

# --- run the server tools as a non-root user -----------------------------------------------------
RUN_AS=()
if [[ "$(id -u)" -eq 0 ]]; then
  if ! id -u postgres >/dev/null 2>&1; then
    log "creating system user 'postgres'"
    if command -v useradd >/dev/null 2>&1; then
      useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/sh postgres ||
        die "could not create the 'postgres' user"
    else
      adduser --system --group --home /var/lib/postgresql --shell /bin/sh postgres ||
        die "could not create the 'postgres' user"
    fi
  fi
  chown -R postgres: "$DATADIR"
  if command -v runuser >/dev/null 2>&1; then
    RUN_AS=(runuser -u postgres --)
  else
    RUN_AS=(su_postgres)
  fi
fi
su_postgres() {
  local quoted
  quoted="$(printf '%q ' "$@")"
  su postgres -s /bin/sh -c "$quoted"
}
# Runs a command as the server's user from a directory it can enter (root's cwd may be 0700).
as_pg() { (cd "$DATADIR" && "${RUN_AS[@]}" "$@"); }

as_pg test -w "$DATADIR" ||
  die "user 'postgres' cannot write '$DATADIR': every parent directory must be searchable" \
    "by it (e.g. chmod o+x on a mktemp -d parent), or choose a directory under /tmp"

# --- initdb --------------------------------------------------------------------------------------
log "initdb in $DATADIR"
initdb_log="$(mktemp)"
if ! as_pg "$BIN/initdb" -D "$DATADIR" -U postgres -E UTF8 --locale=C --auth=trust --no-sync \
  >"$initdb_log" 2>&1; then
  cat "$initdb_log" >&2 || true
  rm -f "$initdb_log"
  die "initdb failed"
fi
rm -f "$initdb_log"

cat >>"$DATADIR/postgresql.conf" <<EOF

# --- tools/pg/pg_start.sh: throwaway test server (no durability) ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DATADIR'
fsync = off
synchronous_commit = $SYNC_COMMIT
full_page_writes = off
max_connections = 200
logging_collector = off
include_if_exists = 'p402_port.conf'
EOF
cat >"$DATADIR/pg_hba.conf" <<'EOF'
# tools/pg/pg_start.sh: trust on the unix socket and loopback only (tests and dev).
local all all trust
host  all all 127.0.0.1/32 trust
EOF
[[ -z "${RUN_AS[*]}" ]] || chown postgres: "$DATADIR/postgresql.conf" "$DATADIR/pg_hba.conf"

# --- pick a free loopback port and start; retry when another process wins the port -------------
port_in_use() {
  local port="$1"
  if command -v ss >/dev/null 2>&1; then
    ss -Hltn 2>/dev/null | awk '{print $4}' | grep -Eq "[:.]${port}\$"
  else
    # Without ss, a successful connect means something listens there.
    (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null
  fi
}
pick_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if ! port_in_use "$port"; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

LOGFILE="$DATADIR/postgres.log"
PORT=""
started=0
for attempt in 1 2 3 4 5; do
  PORT="$(pick_port)" || die "no free loopback TCP port found"
  echo "port = $PORT" >"$DATADIR/p402_port.conf"
  [[ -z "${RUN_AS[*]}" ]] || chown postgres: "$DATADIR/p402_port.conf"
  rm -f "$LOGFILE"
  log "starting postgres on 127.0.0.1:$PORT (attempt $attempt)"
  if as_pg "$BIN/pg_ctl" -D "$DATADIR" -l "$LOGFILE" -w -t "$TIMEOUT" -s start >&2; then
    started=1
    break
  fi
  if [[ -f "$DATADIR/postmaster.pid" ]]; then
    # pg_ctl gave up waiting but the postmaster lives: a slow machine, not a port clash.
    as_pg "$BIN/pg_ctl" -D "$DATADIR" -m immediate -s stop >/dev/null 2>&1 || true
    tail -n 20 "$LOGFILE" >&2 || true
    die "PostgreSQL did not accept connections within ${TIMEOUT}s (log: $LOGFILE)"
  fi
  if grep -Eq 'could not bind|Address already in use' "$LOGFILE" 2>/dev/null; then
    log "port $PORT was taken meanwhile; trying another"
    continue
  fi
  tail -n 20 "$LOGFILE" >&2 || true
  die "PostgreSQL failed to start (log: $LOGFILE)"
done
[[ "$started" -eq 1 ]] ||
  die "PostgreSQL failed to start: no usable port after 5 attempts (log: $LOGFILE)"

stop_on_error() {
  as_pg "$BIN/pg_ctl" -D "$DATADIR" -m immediate -s stop >/dev/null 2>&1 || true
}
trap stop_on_error ERR

PID="$(head -n 1 "$DATADIR/postmaster.pid")"
[[ "$PID" =~ ^[0-9]+$ ]] || { stop_on_error; die "cannot read the postmaster pid"; }

# --- the test database ---------------------------------------------------------------------------
if ! PGCONNECT_TIMEOUT=10 timeout "$TIMEOUT" "$BIN/psql" -X -q -v ON_ERROR_STOP=1 \
  -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -c 'CREATE DATABASE p402_test' >&2; then
  stop_on_error
  die "could not create database p402_test on 127.0.0.1:$PORT"
fi
trap - ERR

DSN="postgresql://postgres@127.0.0.1:${PORT}/p402_test"
{
  echo "DSN=$DSN"
  echo "PORT=$PORT"
  echo "PID=$PID"
} | tee "$DATADIR/pg.env"
log "ready: $DSN (pid $PID); stop with tools/pg/pg_stop.sh $DATADIR"
