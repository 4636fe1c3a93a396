#!/usr/bin/env bash
# Where the CPU goes while sluice catches up: starts throwaway PostgreSQL and
# Redis on loopback (ports 23532/23479), writes N updates (transactions of
# 10,000 rows over a 100,000-row table, as in bench/run.sh), then starts sluice
# on the backlog and prints, once the last change is readable in Redis: the wall
# time, the CPU seconds of each sluice thread, Redis' CPU seconds and its
# INFO commandstats. For finding the bottleneck, not for the report
# (docs/benchmarks.md comes from bench/run.sh).
#
#   bash bench/catchup_profile.sh [TRANSACTIONS]   # default 20 (200,000 changes)
#
# SCRIPT_MAX_OPS sets the sink's script_max_ops (default 32): a large value makes
# every batch take the Lua batch script, for comparing the two ways.
set -euo pipefail
cd "$(dirname "$0")/.."
txns=${1:-20}
build_dir=${SLUICE_BUILD_DIR:-build}
pg_port=${BENCH_PG_PORT:-23532}  # below the ephemeral range, as in bench/run.sh
redis_port=${BENCH_REDIS_PORT:-23479}
dir=$(mktemp -d /tmp/sluice-profile-XXXXXX)
chmod 755 "$dir"
sluice_pid=""
cleanup() {
  [[ -n "$sluice_pid" ]] && kill "$sluice_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  scripts/local-servers.sh stop "$dir/servers" >/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
scripts/local-servers.sh start "$dir/servers" "$pg_port" "$redis_port" >/dev/null
psql -X -q -h "$dir/servers/pg" -p "$pg_port" -U postgres -d postgres \
  -c "CREATE ROLE app LOGIN SUPERUSER PASSWORD 'bench'" -c "CREATE DATABASE app OWNER app"
export PGPASSWORD=bench
conninfo="host=127.0.0.1 port=$pg_port dbname=app user=app"
sql() { psql -X -q -At -h 127.0.0.1 -p "$pg_port" -U app -d app "$@"; }
rcli() { redis-cli -p "$redis_port" "$@"; }
sql -c "CREATE TABLE bench_rows (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0, payload text NOT NULL)"
sql -c "INSERT INTO bench_rows SELECT g, 0, repeat('x', 180) FROM generate_series(-2, 100000) g WHERE g <> 0"
sql -c "CREATE PUBLICATION bench FOR TABLE bench_rows"
cat >"$dir/sluice.toml" <<TOML
[source]
dsn = "$conninfo password=bench"
slot = "bench_sluice"
publication = "bench"
tables = ["public.bench_rows"]
snapshot = "never"
[[sinks]]
name = "cache"
url = "redis://127.0.0.1:$redis_port/0"
script_max_ops = ${SCRIPT_MAX_OPS:-32}
TOML
"$build_dir/sluice" run --config "$dir/sluice.toml" >"$dir/create.log" 2>&1 &
sluice_pid=$!
until grep -q "streaming from slot" "$dir/create.log" 2>/dev/null; do
  kill -0 "$sluice_pid" 2>/dev/null || { cat "$dir/create.log" >&2; exit 1; }
  sleep 0.1
done
kill "$sluice_pid"; wait "$sluice_pid" || true
for ((i = 0; i < txns; i++)); do
  first=$(((i * 10000) % 100000 + 1))
  echo "UPDATE bench_rows SET n = n + 1 WHERE id BETWEEN $first AND $((first + 9999));"
done | sql
sql -c "UPDATE bench_rows SET n = 777 WHERE id = -2"
rcli CONFIG RESETSTAT >/dev/null
redis_cpu() { rcli INFO cpu | awk -F: '/^used_cpu_(user|sys):/ {s += $2} END {printf "%.2f", s}'; }
redis0=$(redis_cpu)
t0=$(date +%s.%N)
"$build_dir/sluice" run --config "$dir/sluice.toml" >"$dir/run.log" 2>&1 &
sluice_pid=$!
until rcli GET bench_rows:-2 | grep -q '"n": *777'; do
  kill -0 "$sluice_pid" 2>/dev/null || { cat "$dir/run.log" >&2; exit 1; }
  sleep 0.005
done
t1=$(date +%s.%N)
echo "changes: $((txns * 10000 + 1)), readable after $(echo "$t1 - $t0" | bc) s"
for task in /proc/"$sluice_pid"/task/*; do
  awk -v id="${task##*/}" '{printf "sluice thread %s: %.2f CPU s\n", id, ($14 + $15) / 100}' "$task/stat"
done
printf "redis: %.2f CPU s\n" "$(echo "$(redis_cpu) - $redis0" | bc)"
rcli INFO commandstats | grep '^cmdstat' | grep -v -E 'config|info'
