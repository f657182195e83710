#!/usr/bin/env bash
# Durable ingest: laketap over HTTP NDJSON and COPY FROM STDIN, against
# PostgreSQL 15's COPY (fsync on) and delta-rs committing every batch, in the
# same run; freshness from acknowledgement to kpi.user_profile (p50/p99); and
# laketap's memory over a steady stream of SECONDS.
#
#   bash bench/ingest.sh [SECONDS] [RATE] [USERS] [DAYS]    (defaults: 600 2000 2000 14)
#
# PHASES=rate,freshness,stream (the default) picks phases; INGEST_TOML adds
# lines to the server's laketap.toml (e.g. "[ingest]\ncommit_interval_ms = 250").
#
# Uses a fresh copy of a demo lake (generated once, dated to the clock) so the
# KPI windows hold data, a release build, Debian's PostgreSQL (installed by
# tests/clients/run.sh or apt), and a virtualenv with psycopg and deltalake.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
rate=${2:-2000}
users=${3:-2000}
days=${4:-14}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/laketap-target}"
cargo build --release -p laketap --bin laketap
bin="$CARGO_TARGET_DIR/release/laketap"
source bench/lib.sh

base="$(pwd)/bench-lake/ingest-u${users}-d${days}"
now=$(date -u +"%Y-%m-%d %H:00:00")
if [ ! -d "$base/lake/amp" ]; then
  rm -rf "$base"
  demo_lake "$base" "$users" "$days" "$now"
fi
work="$base/run"
rm -rf "$work" && mkdir -p "$work/catalog"
cp -r "$base/lake" "$work/lake"
cp "$base/catalog/amp.toml" "$work/catalog/"
cp -r "$base/lake/amp/listen_events" "$work/peer_listen_events"
printf 'catalog = "catalog"\n%b\n' "${INGEST_TOML:-}" > "$work/laketap.toml"

venv=/var/tmp/laketap-bench-venv
"$venv/bin/python" -c 'import psycopg, deltalake' 2>/dev/null || {
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q "psycopg[binary]==3.3.9" "deltalake==1.6.6" "pyarrow==26.0.1"
}

# The peer: PostgreSQL with its durable defaults (fsync, synchronous_commit on).
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -rV | head -1)
pgdata="$work/pgdata"
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$pgdata"
[ "$(id -u)" = 0 ] && chown postgres: "$pgdata" "$work"
as_pg "$pgbin/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 --locale=C > "$work/initdb.log"
cat >> "$pgdata/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$pgdata'
fsync = on
synchronous_commit = on
EOF
touch "$work/postgres.log" && chmod 666 "$work/postgres.log"
as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$work/postgres.log" -w start > /dev/null
stop_pg() { as_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop > /dev/null 2>&1 || true; }
psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -c \
  "CREATE TABLE listen_events (event_id text NOT NULL, event_time timestamp NOT NULL,
     event_date date GENERATED ALWAYS AS (event_time::date) STORED, user_id bigint NOT NULL,
     show_id bigint NOT NULL, session_id text NOT NULL, event_type text NOT NULL,
     listen_seconds double precision NOT NULL)"

start_server "$work" --config "$work/laketap.toml"
trap 'kill $server 2>/dev/null || true; stop_pg' EXIT
http_port=$(grep -o 'http=127.0.0.1:[0-9]*' "$work/serve.log" | head -1 | cut -d: -f2)
shows=$(psql -X -At -h 127.0.0.1 -p "$port" -U laketap -c "SELECT max(show_id) FROM amp.shows")
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; lake: $users users, $days days; $(date -u)"
"$venv/bin/python" bench/ingest.py --http-port "$http_port" --pg-port "$port" \
  --peer-pg-port "$pg_port" --peer-delta "$work/peer_listen_events" --pid "$server" \
  --users "$users" --shows "$shows" --seconds "$seconds" --rate "$rate" \
  --phases "${PHASES:-rate,freshness,stream}"
