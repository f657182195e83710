#!/usr/bin/env bash
# KPI-view latency with the demo lake on S3 (s3s-fs on loopback) against the
# same lake on local disk, each with laketap's metadata caching on and off
# (file listings, Parquet footers, statistics). Median of RUNS after a warm-up.
#
#   bash bench/s3_vs_local.sh [USERS] [DAYS] [RUNS]     (defaults: 40000 26 5)
#
# s3s-fs keeps objects as files in a local folder, so "S3" here adds the S3
# protocol (HTTP, SigV4, ranged GETs and LISTs on loopback), not a network's
# latency. The lake is uploaded with PUTs (bench/s3_upload.py, boto3) as a
# client would: s3s-fs then keeps each object's ETag (for files merely copied
# into its folder it hashes the whole object on every GET). The upload script
# also prints the server's own ranged-GET latency, to read the figures by.
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-40000}
days=${2:-26}
runs=${3:-5}
views=${VIEWS:-trending_shows,live_now,engagement_daily,show_daily,user_profile}
now="2026-03-01 20:00:00"
lake="$(pwd)/bench-lake/u${users}-d${days}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/laketap-target}"
cargo build --release -p laketap --bin laketap --example kpi_bench
bin="$CARGO_TARGET_DIR/release/laketap"
s3s="${LAKETAP_S3S_FS:-/var/tmp/laketap-tools/bin/s3s-fs}"
[ -x "$s3s" ] || cargo install s3s-fs@0.14.1 --features binary --locked --root /var/tmp/laketap-tools
source bench/lib.sh
demo_lake "$lake" "$users" "$days" "$now"

# The bucket `lake`, uploaded object by object into s3s-fs's own folder.
venv=/var/tmp/laketap-bench-venv
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q boto3==1.35.99; }
s3_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rm -rf "$lake/s3root" && mkdir -p "$lake/s3root"
"$s3s" --host 127.0.0.1 --port "$s3_port" --access-key bench --secret-key bench-secret "$lake/s3root" \
  > "$lake/s3s.log" 2>&1 &
s3pid=$!
sleep 1
"$venv/bin/python" bench/s3_upload.py "http://127.0.0.1:$s3_port" bench bench-secret lake "$lake/lake"
mkdir -p "$lake/catalog-s3"
sed 's#location = "../lake/#location = "s3://lake/#' "$lake/catalog/amp.toml" > "$lake/catalog-s3/amp.toml"
export BENCH_S3_KEY=bench BENCH_S3_SECRET=bench-secret
for where in local s3; do
  for cache in true false; do
    catalog="$lake/catalog"; [ "$where" = s3 ] && catalog="$lake/catalog-s3"
    cat > "$lake/$where-$cache.toml" <<TOML
catalog = "$catalog"
metadata_cache = $cache
[[storage]]
url = "s3://lake"
endpoint = "http://127.0.0.1:$s3_port"
region = "us-east-1"
allow_http = true
access_key_id_env = "BENCH_S3_KEY"
secret_access_key_env = "BENCH_S3_SECRET"
TOML
  done
done
trap 'kill $s3pid 2>/dev/null || true' EXIT   # start_server's trap adds the server

echo "lake: $lake ($(nproc) cores); listen_events: $("$bin" query "SELECT count(*) FROM amp.listen_events" --catalog "$lake/catalog" 2>/dev/null | sed -n 4p)"
extra_pids=$s3pid
for run in local-true local-false s3-true s3-false; do
  SERVE_TAG="-$run" start_server "$lake" --config "$lake/$run.toml"
  echo; echo "## ${run%-*}, metadata cache ${run#*-}"
  "$CARGO_TARGET_DIR/release/examples/kpi_bench" "$port" "$now" "$runs" "$views"
  kill "$server"; wait "$server" 2>/dev/null || true
done
