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
source bench/lib.sh
demo_lake "$lake" "$users" "$days" "$now"
start_server "$lake"
echo "lake: $lake ($(nproc) cores); listen_events: $("$bin" query "SELECT count(*) FROM amp.listen_events" --catalog "$lake/catalog" 2>/dev/null | sed -n 4p)"
"$CARGO_TARGET_DIR/release/examples/kpi_bench" "$port" "$now" "$runs"
