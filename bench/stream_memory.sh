#!/usr/bin/env bash
# Peak server memory while one client reads a whole table through the wire.
#
#   bash bench/stream_memory.sh [USERS] [DAYS]     (defaults: 400000 26 ≈ 100M listen events)
#
# Generates bench-lake/ with `laketap demo` if it is missing, starts the release
# server on it, samples the server's RSS every 200 ms while the `stream_all`
# example reads `SELECT * FROM amp.listen_events`, and prints the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-400000}
days=${2:-26}
lake="bench-lake/u${users}-d${days}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/laketap-target}"
cargo build --release -p laketap --bin laketap --example stream_all
bin="$CARGO_TARGET_DIR/release/laketap"
client="$CARGO_TARGET_DIR/release/examples/stream_all"

source bench/lib.sh
demo_lake "$lake" "$users" "$days" "2026-03-01 20:00:00"
du -sh "$lake/lake/amp/listen_events"
start_server "$lake"
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }
echo "server idle RSS: $(( $(rss_kb) / 1024 )) MiB"

peak=0
( while kill -0 $server 2>/dev/null; do r=$(rss_kb); echo "$r"; sleep 0.2; done ) > "$lake/rss.samples" &
sampler=$!
"$client" "$port" "SELECT * FROM amp.listen_events"
kill $sampler 2>/dev/null || true
peak=$(sort -n "$lake/rss.samples" | tail -1)
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$server/status")
echo "server peak RSS while streaming (sampled): $(( peak / 1024 )) MiB; VmHWM: $(( hwm / 1024 )) MiB"
