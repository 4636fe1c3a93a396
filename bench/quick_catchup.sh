#!/usr/bin/env bash
# A quick, rough measurement (issue 4 builds the real benchmark): starts
# throwaway PostgreSQL and Redis, loads N rows, times sluice's initial snapshot,
# then one UPDATE of all N rows in a single transaction: time from COMMIT until
# the last row is readable in Redis, and the CPU seconds of sluice, Redis and
# the walsender over that window.
#   bench/quick_catchup.sh [ROWS]      (default 200000; needs build/sluice)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-200000}
dir=$(mktemp -d /tmp/sluice-bench-XXXXXX)
chmod 755 "$dir"
pg_port=${BENCH_PG_PORT:-45432}
redis_port=${BENCH_REDIS_PORT:-46379}
sluice_pid=""
cleanup() {
  [[ -n "$sluice_pid" ]] && kill "$sluice_pid" 2>/dev/null && wait "$sluice_pid" 2>/dev/null || true
  scripts/local-servers.sh stop "$dir/servers"
  rm -rf "$dir"
}
trap cleanup EXIT
scripts/local-servers.sh start "$dir/servers" "$pg_port" "$redis_port"
psql -X -q -h "$dir/servers/pg" -p "$pg_port" -U postgres -d postgres \
  -c "CREATE ROLE app LOGIN SUPERUSER PASSWORD 'bench'" -c "CREATE DATABASE app OWNER app"
export PGPASSWORD=bench
sql() { psql -X -q -h 127.0.0.1 -p "$pg_port" -U app -d app "$@"; }
sql -f examples/seed.sql
sql -c "INSERT INTO user_account (email, display_name) SELECT 'u' || g || '@x', repeat('n', 150) FROM generate_series(1, $rows) g"
last_id=$((rows + 2))
cat >"$dir/sluice.toml" <<TOML
[source]
dsn = "host=127.0.0.1 port=$pg_port dbname=app user=app password=bench"
slot = "bench"
publication = "bench"
tables = ["public.user_account", "public.channel", "public.media"]
[[sinks]]
name = "cache"
url = "redis://127.0.0.1:$redis_port/0"
[[sinks.tables]]
table = "public.media"
key = "m:{channel_id}:{media_id}"
TOML

now() { date +%s.%N; }
cpu() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
walsender_cpu() { local t=0; for p in $(pgrep -f "postgres: walsender"); do t=$(echo "$t + $(cpu "$p")" | bc); done; echo "$t"; }

start=$(now)
build/sluice run --config "$dir/sluice.toml" >"$dir/sluice.log" 2>&1 &
sluice_pid=$!
until grep -q "streaming from slot" "$dir/sluice.log"; do
  kill -0 "$sluice_pid" 2>/dev/null || { cat "$dir/sluice.log"; exit 1; }
  sleep 0.05
done
snapshot_seconds=$(echo "$(now) - $start" | bc)

redis_pid=$(pgrep -f "redis-server 127.0.0.1:$redis_port")
s0=$(cpu "$sluice_pid"); r0=$(cpu "$redis_pid"); w0=$(walsender_cpu)
sql -c "UPDATE user_account SET display_name = 'updated-' || user_account_id"
committed=$(now)
until redis-cli -p "$redis_port" GET "user_account:$last_id" | grep -q "updated-$last_id"; do sleep 0.01; done
done_at=$(now)
catchup=$(echo "$done_at - $committed" | bc)
echo "rows:                 $rows (+6 seed rows)"
echo "snapshot:             ${snapshot_seconds}s  ($(echo "$rows / $snapshot_seconds" | bc) rows/s, start-up included)"
echo "catch-up after COMMIT: ${catchup}s  ($(echo "$rows / $catchup" | bc) changes/s)"
echo "CPU over catch-up:    sluice $(echo "$(cpu "$sluice_pid") - $s0" | bc)s, redis $(echo "$(cpu "$redis_pid") - $r0" | bc)s, walsender $(echo "$(walsender_cpu) - $w0" | bc)s (includes decoding during the UPDATE)"
echo "sluice peak RSS:      $(awk '/VmHWM/ {print $2 " kB"}' "/proc/$sluice_pid/status")"
