#!/usr/bin/env bash
# Client-compatibility suites (issue 3): real drivers, psql, pgjdbc and recorded
# BI-tool queries, each case run against laketap AND a real PostgreSQL holding the
# same tables; a case passes when both answer the same (tests/clients/README.md).
#
#   bash tests/clients/run.sh                 # everything; writes docs/COMPATIBILITY.md
#   bash tests/clients/run.sh -k psycopg3     # extra arguments go to pytest
#   bash tests/clients/run.sh --serve         # start both servers, print their DSNs, wait
#
# Environment: LAKETAP_BIN (default $CARGO_TARGET_DIR/debug/laketap, else target/debug/laketap),
# LAKETAP_CLIENTS_PORTS (port range to take free ports from, default 55400-55499),
# LAKETAP_CLIENTS_CACHE (default /var/tmp: the virtualenv and compiled Java go there).
# Runs as root on a fresh Debian machine with no stdin (installs what is missing with apt),
# or as an ordinary user who already has the packages.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${LAKETAP_CLIENTS_CACHE:-/var/tmp}"
PORTS="${LAKETAP_CLIENTS_PORTS:-55400-55499}"
SERVE_ONLY=0
if [ "${1:-}" = "--serve" ]; then SERVE_ONLY=1; shift; fi

say() { printf '[clients %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# ---------------------------------------------------------------- binaries
if [ -n "${LAKETAP_BIN:-}" ]; then
  BIN="$LAKETAP_BIN"
elif [ -n "${CARGO_TARGET_DIR:-}" ]; then
  BIN="$CARGO_TARGET_DIR/debug/laketap"
else
  BIN="$ROOT/target/debug/laketap"
fi
[ -x "$BIN" ] || { echo "laketap binary not found at $BIN (set LAKETAP_BIN)" >&2; exit 1; }

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
    if [ -x "$d/postgres" ] && [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  done
  return 1
}

# ---------------------------------------------------------------- system packages
missing=()
pg_bindir >/dev/null || missing+=(postgresql)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
[ -f /usr/share/java/postgresql.jar ] || missing+=(libpostgresql-jdbc-java)
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
PY=/usr/bin/python3
[ -x "$PY" ] || { PY="$(command -v python3 || true)"; }
if [ -z "$PY" ]; then missing+=(python3 python3-venv); PY=/usr/bin/python3;
elif ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then missing+=(python3-venv); fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages: ${missing[*]} (run as root, or install them)" >&2; exit 1
  fi
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi
PGBIN="$(pg_bindir)"
JDBC_JAR=/usr/share/java/postgresql.jar

# ---------------------------------------------------------------- python virtualenv
REQ="$HERE/requirements.txt"
REQ_HASH="$( (cat "$REQ"; "$PY" -c 'import sys; print(sys.version)') | sha256sum | cut -c1-16)"
VENV="$CACHE/laketap-clients-venv-$REQ_HASH"
if [ ! -f "$VENV/.complete" ]; then
  say "creating $VENV"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-input -r "$REQ"
  touch "$VENV/.complete"
fi

# ---------------------------------------------------------------- Java suite
JAVA_SRC="$HERE/java/JdbcSuite.java"
JAVA_HASH="$( (cat "$JAVA_SRC"; sha256sum "$JDBC_JAR"; javac -version 2>&1) | sha256sum | cut -c1-16)"
JAVA_OUT="$CACHE/laketap-clients-java-$JAVA_HASH"
if [ ! -f "$JAVA_OUT/JdbcSuite.class" ]; then
  say "javac JdbcSuite.java"
  rm -rf "$JAVA_OUT.tmp" && mkdir -p "$JAVA_OUT.tmp"
  javac -nowarn -encoding UTF-8 -cp "$JDBC_JAR" -d "$JAVA_OUT.tmp" "$JAVA_SRC"
  rm -rf "$JAVA_OUT" && mv "$JAVA_OUT.tmp" "$JAVA_OUT"
fi

# ---------------------------------------------------------------- ports and work dir
port_free() {
  "$PY" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
EOF
}
TAKEN=" "
free_port() {
  local lo=${PORTS%-*} hi=${PORTS#*-} p
  for ((p = lo; p <= hi; p++)); do
    case "$TAKEN" in *" $p "*) continue ;; esac
    if port_free "$p"; then TAKEN="$TAKEN$p "; echo "$p"; return 0; fi
  done
  echo "no free port in $PORTS" >&2; return 1
}
PG_PORT="$(free_port)"; TAKEN="$TAKEN$PG_PORT "
LT_PORT="$(free_port)"; TAKEN="$TAKEN$LT_PORT "
LT_HTTP="$(free_port)"; TAKEN="$TAKEN$LT_HTTP "

WORK="$(mktemp -d "${TMPDIR:-/tmp}/laketap-clients.XXXXXX")"
chmod 755 "$WORK"
PGDATA="$WORK/pgdata"
PG_PID=""
LT_PID=""
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
  local rc=$?
  if [ -n "$LT_PID" ] && kill -0 "$LT_PID" 2>/dev/null; then
    kill -TERM "$LT_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$LT_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$LT_PID" 2>/dev/null || true
  fi
  if [ -f "$PGDATA/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ "$rc" != 0 ]; then
    for log in "$WORK/postgres.log" "$WORK/laketap.log"; do
      [ -f "$log" ] && { echo "--- tail of $log"; tail -n 30 "$log"; }
    done
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- PostgreSQL
say "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"
mkdir -p "$PGDATA"
if [ "$(id -u)" = 0 ]; then chown postgres: "$PGDATA"; fi
as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log" >&2; exit 1; }
# The baseline session: Etc/UTC (what initdb picks on a UTC machine), ISO dates, C collation (DataFusion compares bytes), English messages.
cat >>"$PGDATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PGDATA'
timezone = 'Etc/UTC'
log_timezone = 'Etc/UTC'
datestyle = 'ISO, MDY'
lc_messages = 'C'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
EOF
touch "$WORK/postgres.log" && chmod 666 "$WORK/postgres.log"
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$WORK/postgres.log" -w -t 60 start >/dev/null
PSQL_PG=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres)
"${PSQL_PG[@]}" -d postgres -c "CREATE ROLE laketap SUPERUSER LOGIN" \
  -c "CREATE DATABASE laketap OWNER postgres" >/dev/null
"${PSQL_PG[@]}" -d laketap -f "$HERE/postgres.sql" >/dev/null

# ---------------------------------------------------------------- laketap
say "laketap $BIN on 127.0.0.1:$LT_PORT"
RUST_LOG="${RUST_LOG:-warn}" "$BIN" serve --catalog "$HERE/catalog" --views "$HERE/views" \
  --listen "127.0.0.1:$LT_PORT" --http "127.0.0.1:$LT_HTTP" >"$WORK/laketap.log" 2>&1 </dev/null &
LT_PID=$!
for i in $(seq 1 300); do
  if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$LT_PORT" -U laketap -d laketap; then break; fi
  kill -0 "$LT_PID" 2>/dev/null || { echo "laketap exited" >&2; exit 1; }
  [ "$i" = 300 ] && { echo "laketap not ready after 60 s" >&2; exit 1; }
  sleep 0.2
done

export CLIENTS_PG_DSN="host=127.0.0.1 port=$PG_PORT user=laketap dbname=laketap"
export CLIENTS_LT_DSN="host=127.0.0.1 port=$LT_PORT user=laketap dbname=laketap"
export CLIENTS_PG_PORT="$PG_PORT" CLIENTS_LT_PORT="$LT_PORT"
export CLIENTS_JDBC_JAR="$JDBC_JAR" CLIENTS_JAVA_CLASSES="$JAVA_OUT"
export CLIENTS_RESULTS="$WORK/results.json"
export CLIENTS_HERE="$HERE"
export PGCONNECT_TIMEOUT=10 PYTHONDONTWRITEBYTECODE=1

if [ "$SERVE_ONLY" = 1 ]; then
  say "PostgreSQL: psql '$CLIENTS_PG_DSN'"
  say "laketap:    psql '$CLIENTS_LT_DSN'"
  say "venv: $VENV   java classes: $JAVA_OUT   (Ctrl-C stops both)"
  while kill -0 "$LT_PID" 2>/dev/null; do sleep 1; done
  exit 1
fi

# ---------------------------------------------------------------- the suites
say "pytest"
set +e
(cd "$HERE" && timeout -k 10 900 "$VENV/bin/python" -m pytest -p no:cacheprovider -p no:faulthandler -q --tb=line -r fE "$@" python)
rc=$?
set -e
if [ -f "$CLIENTS_RESULTS" ]; then
  mkdir -p "$ROOT/docs"
  "$VENV/bin/python" "$HERE/report.py" "$CLIENTS_RESULTS" "$ROOT/docs/COMPATIBILITY.md"
  cp "$CLIENTS_RESULTS" "$CACHE/laketap-clients-results.json" 2>/dev/null || true
fi
exit "$rc"
