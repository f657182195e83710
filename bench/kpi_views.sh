#!/usr/bin/env bash
# Times every KPI view through the wire on a demo lake (median of RUNS after a warm-up).
#
#   bash bench/kpi_views.sh [USERS] [DAYS] [RUNS]     (defaults: 40000 26 5 ≈ 10M listen events)
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-40000}
days=${2:-26}
runs=${3:-5}
now="2026-03-01 20:00:00"
lake="bench-lake/u${users}-d${days}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/laketap-target}"
cargo build --release -p laketap --bin laketap --example kpi_bench
bin="$CARGO_TARGET_DIR/release/laketap"
if [ ! -d "$lake/lake/amp" ]; then
  mkdir -p "$lake/catalog"
  cp catalog/amp.toml "$lake/catalog/"
  "$bin" demo --out "$lake/lake" --users "$users" --days "$days" --now "$now"
fi
"$bin" serve --catalog "$lake/catalog" --listen 127.0.0.1:0 --http 127.0.0.1:0 2> "$lake/serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
port=""
for _ in $(seq 1 600); do
  port=$(grep -o 'postgres=127.0.0.1:[0-9]*' "$lake/serve.log" | head -1 | cut -d: -f2 || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "server did not start"; cat "$lake/serve.log"; exit 1; }
echo "lake: $lake ($(nproc) cores); listen_events: $("$bin" query "SELECT count(*) FROM amp.listen_events" --catalog "$lake/catalog" 2>/dev/null | sed -n 4p)"
"$CARGO_TARGET_DIR/release/examples/kpi_bench" "$port" "$now" "$runs"
