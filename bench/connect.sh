#!/usr/bin/env bash
# Logins and round trips: laketap with SCRAM-SHA-256 users (and its no-users
# trust default) against PostgreSQL 15 with SCRAM-SHA-256, in the same run,
# through psycopg 3 (libpq): sequential connect + SELECT 1 + close, and
# SELECT 1 round trips on one connection. Prints figures and ratios.
#
#   bash bench/connect.sh [CONNECTIONS] [ROUND_TRIPS]     (defaults: 300 3000)
set -euo pipefail
cd "$(dirname "$0")/.."
connections=${1:-300}
trips=${2:-3000}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/laketap-target}"
cargo build --release -p laketap --bin laketap
bin="$CARGO_TARGET_DIR/release/laketap"
source bench/lib.sh

work=$(mktemp -d /var/tmp/laketap-connect.XXXXXX)
cp -r tests/fixtures/catalog tests/fixtures/lake "$work/"
cat > "$work/laketap.toml" <<TOML
catalog = "catalog"
[[users]]
name = "bench"
password_env = "BENCH_PASSWORD"
roles = ["reader"]
[roles.reader]
read = ["amp", "kpi"]
TOML
mkdir -p "$work/trust"
printf 'catalog = "../catalog"\n' > "$work/trust/laketap.toml"

venv=/var/tmp/laketap-bench-venv
"$venv/bin/python" -c 'import psycopg' 2>/dev/null || {
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q "psycopg[binary]==3.3.9"
}

# The peer: PostgreSQL with SCRAM-SHA-256 for TCP logins (its default method).
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -rV | head -1)
pgdata="$work/pgdata"
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$pgdata"
echo "bench-pw" > "$work/pwfile"
[ "$(id -u)" = 0 ] && chown -R postgres: "$work"
as_pg "$pgbin/initdb" -D "$pgdata" -U bench --pwfile="$work/pwfile" -A scram-sha-256 -E UTF8 --locale=C > "$work/initdb.log"
cat >> "$pgdata/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$pgdata'
CONF
touch "$work/postgres.log" && chmod 666 "$work/postgres.log"
as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$work/postgres.log" -w start > /dev/null
stop_pg() { as_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop > /dev/null 2>&1 || true; }

export BENCH_PASSWORD=bench-pw
start_server "$work" --config "$work/laketap.toml"
scram_port=$port scram_pid=$server
SERVE_TAG=-trust start_server "$work/trust" --config "$work/trust/laketap.toml"
trust_port=$port
extra_pids=$scram_pid
trap 'kill $server $scram_pid 2>/dev/null || true; stop_pg; rm -rf "$work"' EXIT
echo "machine: $(nproc) cores; $(date -u)"
"$venv/bin/python" bench/connect.py --connections "$connections" --trips "$trips" \
  --target "PostgreSQL 15 (scram-sha-256)=host=127.0.0.1 port=$pg_port user=bench password=bench-pw dbname=postgres" \
  --target "laketap (scram-sha-256)=host=127.0.0.1 port=$scram_port user=bench password=bench-pw dbname=laketap" \
  --target "laketap (no users, trust)=host=127.0.0.1 port=$trust_port user=laketap dbname=laketap"
