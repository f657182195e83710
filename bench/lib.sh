# Shared by the benchmark scripts: `source bench/lib.sh`.

# demo_lake LAKE USERS DAYS NOW: generates LAKE/lake (and LAKE/catalog) with
# `laketap demo` unless it exists; prints the generator's time and memory.
demo_lake() {
  local lake=$1 users=$2 days=$3 now=$4
  [ -d "$lake/lake/amp" ] && return 0
  mkdir -p "$lake/catalog"
  cp catalog/amp.toml "$lake/catalog/"
  /usr/bin/time -v "$bin" demo --out "$lake/lake" --users "$users" --days "$days" \
    --now "$now" 2> "$lake/demo.time"
  grep -E "Elapsed|Maximum resident" "$lake/demo.time"
}

# start_server LAKE [SERVE ARGS...]: starts `laketap serve` on ephemeral ports
# (over LAKE/catalog unless arguments are given; log in LAKE/serve$SERVE_TAG.log),
# sets $server (pid) and $port (PostgreSQL), and stops the server on exit.
start_server() {
  local lake=$1
  shift
  local log="$lake/serve${SERVE_TAG:-}.log"
  [ $# -gt 0 ] || set -- --catalog "$lake/catalog"
  "$bin" serve "$@" --listen 127.0.0.1:0 --http 127.0.0.1:0 2> "$log" &
  server=$!
  trap 'kill $server ${extra_pids:-} 2>/dev/null || true' EXIT
  port=""
  for _ in $(seq 1 600); do
    port=$(grep -o 'postgres=127.0.0.1:[0-9]*' "$log" | head -1 | cut -d: -f2 || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "server did not start"; cat "$log"; exit 1; }
}
