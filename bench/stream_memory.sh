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

if [ ! -d "$lake/lake/amp" ]; then
  mkdir -p "$lake/catalog"
  cp catalog/amp.toml "$lake/catalog/"
  /usr/bin/time -v "$bin" demo --out "$lake/lake" --users "$users" --days "$days" \
    --now "2026-03-01 20:00:00" 2> "$lake/demo.time"
  grep -E "Elapsed|Maximum resident" "$lake/demo.time"
fi
du -sh "$lake/lake/amp/listen_events"

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
