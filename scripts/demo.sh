#!/usr/bin/env bash
# The README's first command: install what is missing, build, start throwaway
# PostgreSQL and Redis on loopback, create the seed's tables with sample rows,
# run sluice, make a few writes and show the Redis cache following them.
# Everything lives in .run/demo and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target sluice

dir="$root/.run/demo"
# Below Linux's ephemeral range (32768-60999), where an outgoing connection's
# port left in TIME_WAIT can stop a server from binding.
pg_port=${DEMO_PG_PORT:-25432}
redis_port=${DEMO_REDIS_PORT:-26379}
metrics_port=${DEMO_METRICS_PORT:-26187}
scripts/local-servers.sh stop "$dir" 2>/dev/null || true
rm -rf "$dir"
sluice_pid=""
cleanup() {
  [[ -n "$sluice_pid" ]] && kill "$sluice_pid" 2>/dev/null && wait "$sluice_pid" 2>/dev/null || true
  scripts/local-servers.sh stop "$dir"
}
trap cleanup EXIT
scripts/local-servers.sh start "$dir" "$pg_port" "$redis_port"

psql_admin() { psql -X -q -h "$dir/pg" -p "$pg_port" -U postgres "$@"; }
psql_admin -d postgres -c "CREATE ROLE app LOGIN REPLICATION PASSWORD 'demo-password'" -c "CREATE DATABASE app OWNER app"
export PGPASSWORD=demo-password
app_sql() { psql -X -q -h 127.0.0.1 -p "$pg_port" -U app -d app -c "$1"; }
psql -X -q -h 127.0.0.1 -p "$pg_port" -U app -d app -f examples/seed.sql

cat >"$dir/sluice.toml" <<TOML
[source]
kind = "postgres"
dsn = "host=127.0.0.1 port=$pg_port dbname=app user=app password=\${env:APP_PG_PASSWORD}"
slot = "sluice_cache"
publication = "sluice_cache"
tables = ["public.user_account", "public.channel", "public.media"]
snapshot = "initial"

[[sinks]]
name = "cache"
kind = "redis"
url = "redis://127.0.0.1:$redis_port/0"
mode = "upsert"
format = "json"
key = "{table}:{pk}"

[[sinks.tables]]
table = "public.media"
key = "m:{channel_id}:{media_id}"

[metrics]
listen = "127.0.0.1:$metrics_port"
TOML
export APP_PG_PASSWORD=demo-password

echo
echo "== sluice check"
build/sluice check --config "$dir/sluice.toml"

echo
echo "== sluice run (log: $dir/sluice.log)"
build/sluice run --config "$dir/sluice.toml" >"$dir/sluice.log" 2>&1 &
sluice_pid=$!

redis() { redis-cli -p "$redis_port" "$@"; }
wait_for() {  # wait_for KEY [expected substring]
  for _ in $(seq 100); do
    local v
    v=$(redis GET "$1")
    if [[ -n "$v" && ( -z "${2:-}" || "$v" == *"$2"* ) ]]; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for $1 in Redis; sluice log:" >&2
  cat "$dir/sluice.log" >&2
  return 1
}
wait_absent() {
  for _ in $(seq 100); do [[ $(redis EXISTS "$1") == 0 ]] && return 0; sleep 0.1; done
  echo "timed out waiting for $1 to leave Redis" >&2; return 1
}
show() { echo "   $1 = $(redis GET "$1" | cut -c1-160)"; }

wait_for user_account:2
echo "-- after the initial snapshot, Redis holds:"
redis --scan --pattern '*' | grep -v '^sluice:' | sort | sed 's/^/   /'
show user_account:1
show channel:1

echo "-- UPDATE user_account SET display_name = 'Ada Lovelace' WHERE user_account_id = 1"
app_sql "UPDATE user_account SET display_name = 'Ada Lovelace' WHERE user_account_id = 1"
wait_for user_account:1 "Ada Lovelace"
show user_account:1

echo "-- INSERT a new media row in channel 2"
app_sql "INSERT INTO media (channel_id, title, duration_seconds) VALUES (2, 'FLOW-MATIC', 60.125)"
wait_for m:2:3
show m:2:3

echo "-- UPDATE media 1's title only: its 20 kB TOASTed description stays in the document"
app_sql "UPDATE media SET title = 'Sketch of the Analytical Engine' WHERE media_id = 1"
wait_for m:1:1 "Sketch"
echo "   m:1:1 title = $(redis GET m:1:1 | grep -o '"title":"[^"]*"'), description length = $(redis GET m:1:1 | grep -o '"description":"[^"]*"' | wc -c)"

echo "-- DELETE media 2 (the key m:2:2 was built from channel_id, which the delete does not carry)"
app_sql "DELETE FROM media WHERE media_id = 2"
wait_absent m:2:2
echo "   m:2:2 exists? $(redis EXISTS m:2:2)"

echo "-- a transaction of three statements becomes visible at once"
app_sql "BEGIN; UPDATE channel SET name = 'Engines II' WHERE channel_id = 1; UPDATE channel SET tags = '{a,b}' WHERE channel_id = 1; INSERT INTO user_account (email, display_name) VALUES ('alan@example.com', 'Alan'); COMMIT;"
wait_for user_account:3
show channel:1
show user_account:3

echo
echo "== sluice's checkpoint in Redis"
redis HGETALL sluice:cache:checkpoint | paste - - | sed 's/^/   /'
echo
echo "== sluice status"
build/sluice status --config "$dir/sluice.toml" | sed 's/^/   /'
echo
echo "== GET http://127.0.0.1:$metrics_port/healthz and some of /metrics"
echo "   $(curl -s "http://127.0.0.1:$metrics_port/healthz")"
curl -s "http://127.0.0.1:$metrics_port/metrics" |
  grep -E '^sluice_(changes_applied_total|replication_lag_seconds|slot_lag_bytes|snapshot_rows_done)' | sed 's/^/   /'
kill -TERM "$sluice_pid"
wait "$sluice_pid" && echo "sluice exited 0 after SIGTERM"
sluice_pid=""
echo
echo "Demo finished; the servers are stopped. sluice's log was:"
sed 's/^/   /' "$dir/sluice.log"
