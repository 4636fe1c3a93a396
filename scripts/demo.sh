#!/usr/bin/env bash
# The README's first command: install what is missing, build, start throwaway
# PostgreSQL, Redis and a Sphinx searchd on loopback, create the seed's tables
# with sample rows, run sluice with two sinks (a Redis cache and a search index),
# make a few writes and show both following them: one write to PostgreSQL, the
# cache and a full-text MATCH() both see it. Each wait is bounded (15 s); what
# does not appear in time stops the demo with a non-zero exit naming it.
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
search_port=${DEMO_SEARCH_PORT:-29306}
scripts/local-servers.sh stop "$dir" 2>/dev/null || true
rm -rf "$dir"
sluice_pid=""
cleanup() {
  [[ -n "$sluice_pid" ]] && kill "$sluice_pid" 2>/dev/null && wait "$sluice_pid" 2>/dev/null || true
  scripts/local-servers.sh stop "$dir"
}
trap cleanup EXIT
fail() {
  echo "demo FAILED: $1" >&2
  if [[ -f "$dir/sluice.log" ]]; then echo "sluice log (last lines, $dir/sluice.log):" >&2; tail -n 40 "$dir/sluice.log" >&2; fi
  exit 1
}
scripts/local-servers.sh start "$dir" "$pg_port" "$redis_port" "$search_port"

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

[[sinks]]
name = "search"
kind = "manticore"                 # Manticore Search, or Sphinx 2.2+
url = "mysql://127.0.0.1:$search_port"    # the demo's searchd (SphinxQL, mysql41)
index = "{table}_rt"

[[sinks.tables]]
table = "public.media"
fields = ["title", "description"]

[metrics]
listen = "127.0.0.1:$metrics_port"
TOML
export APP_PG_PASSWORD=demo-password

echo
echo "== sluice check, while searchd has only a placeholder index: it prints the block media_rt needs"
# (Its report goes to standard output, its problems to standard error.)
if build/sluice check --config "$dir/sluice.toml" >"$dir/check.out" 2>"$dir/check.err"; then
  cat "$dir/check.out" "$dir/check.err"
  fail "sluice check passed although searchd has no index media_rt"
fi
cat "$dir/check.out" "$dir/check.err" | sed 's/^/   /'
# The printed block, with its path moved from /var/lib/sphinxsearch/data into the demo dir.
awk -v dir="$dir/search" '
  /^# Search index / { on = 1 }
  on && /^\tpath = / { sub(/path = .*\//, "path = " dir "/") }
  on { print }
  on && /^}$/ { on = 0; print "" }' "$dir/check.err" >"$dir/search/indexes.conf"
grep -q '^index media_rt$' "$dir/search/indexes.conf" || fail "sluice check printed no index block for media_rt (see above)"

echo
echo "== that block (its path moved to $dir/search) goes into $dir/search/sphinx.conf;"
echo "   searchd restarted; sluice check again"
scripts/local-servers.sh restart-search "$dir" "$search_port"
build/sluice check --config "$dir/sluice.toml" 2>&1 | sed 's/^/   /' ||
  fail "sluice check still finds problems after the index block was added"

echo
echo "== sluice run (log: $dir/sluice.log)"
build/sluice run --config "$dir/sluice.toml" >"$dir/sluice.log" 2>&1 &
sluice_pid=$!

redis() { redis-cli -p "$redis_port" "$@"; }
sql_client=$(command -v mariadb || command -v mysql) || fail "no mariadb client on PATH (scripts/install-deps.sh installs mariadb-client-core)"
sphinxql() { "$sql_client" -h 127.0.0.1 -P "$search_port" --protocol=tcp -N -B -e "$1"; }
match_ids() { sphinxql "SELECT id FROM media_rt WHERE MATCH('$1') ORDER BY id ASC" | paste -sd' '; }
# Each wait polls every 0.1 s for at most 15 s, and gives up at once if sluice exited.
wait_seconds=15
still_running() { kill -0 "$sluice_pid" 2>/dev/null || fail "sluice exited while the demo waited for: $1"; }
wait_for() {  # wait_for KEY [expected substring]
  local deadline=$((SECONDS + wait_seconds))
  while ((SECONDS < deadline)); do
    local v
    v=$(redis GET "$1")
    if [[ -n "$v" && ( -z "${2:-}" || "$v" == *"$2"* ) ]]; then return 0; fi
    still_running "Redis key $1${2:+ holding \"$2\"}"
    sleep 0.1
  done
  local now
  now=$(redis GET "$1" | cut -c1-160)
  fail "Redis key $1${2:+ holding \"$2\"} did not appear within $wait_seconds s (it holds: ${now:-nothing})"
}
wait_absent() {
  local deadline=$((SECONDS + wait_seconds))
  while ((SECONDS < deadline)); do
    [[ $(redis EXISTS "$1") == 0 ]] && return 0
    still_running "Redis key $1 to go"
    sleep 0.1
  done
  fail "Redis key $1 was still there after $wait_seconds s"
}
wait_match() {  # wait_match WORD "IDS" (space-separated; "" for no match)
  local deadline=$((SECONDS + wait_seconds))
  while ((SECONDS < deadline)); do
    [[ "$(match_ids "$1" 2>/dev/null)" == "$2" ]] && return 0
    still_running "MATCH('$1') in media_rt to return ${2:-nothing}"
    sleep 0.1
  done
  local got
  got=$(match_ids "$1" 2>&1) || true
  fail "MATCH('$1') in media_rt did not return ${2:-nothing} within $wait_seconds s (it returns: ${got:-nothing})"
}
show() { echo "   redis  $1 = $(redis GET "$1" | cut -c1-160)"; }
show_match() {
  local q="SELECT id, title FROM media_rt WHERE MATCH('$1')" out
  out=$(sphinxql "$q") || fail "searchd rejected: $q"
  echo "   search $q -> ${out:-(no match)}" | sed '2,$s/^/          /'
}

wait_for user_account:2
wait_match engine "1"
echo "-- after the initial snapshot, Redis holds:"
redis --scan --pattern '*' | grep -v '^sluice:' | sort | sed 's/^/   /'
show user_account:1
show channel:1
echo "-- and the search index media_rt holds every media row ($(sphinxql "SELECT COUNT(*) FROM media_rt WHERE id < 9223372036854775808") documents):"
show_match engine

echo "-- UPDATE user_account SET display_name = 'Ada Lovelace' WHERE user_account_id = 1"
app_sql "UPDATE user_account SET display_name = 'Ada Lovelace' WHERE user_account_id = 1"
wait_for user_account:1 "Ada Lovelace"
show user_account:1

echo "-- INSERT a new media row in channel 2: it appears in the cache and in the search index"
app_sql "INSERT INTO media (channel_id, title, duration_seconds) VALUES (2, 'FLOW-MATIC Programming Guide', 60.125)"
wait_for m:2:3
wait_match programming "3"
show m:2:3
show_match programming

echo "-- UPDATE its title: the new word is searchable, the old one no longer"
app_sql "UPDATE media SET title = 'FLOW-MATIC Reference Manual' WHERE media_id = 3"
wait_for m:2:3 "Reference Manual"
wait_match manual "3"
wait_match programming ""
show m:2:3
show_match manual
show_match programming

echo "-- UPDATE media 1's title only: its 20 kB TOASTed description stays in the document and in the index"
app_sql "UPDATE media SET title = 'Sketch of the Analytical Engine' WHERE media_id = 1"
wait_for m:1:1 "Sketch"
wait_match sketch "1"
echo "   redis  m:1:1 title = $(redis GET m:1:1 | grep -o '"title":"[^"]*"'), description length = $(redis GET m:1:1 | grep -o '"description":"[^"]*"' | wc -c)"
show_match sketch
wait_match description "1"
show_match description

echo "-- DELETE media 3: gone from both (the key m:2:3 was built from channel_id, which the delete does not carry)"
app_sql "DELETE FROM media WHERE media_id = 3"
wait_absent m:2:3
wait_match manual ""
echo "   redis  m:2:3 exists? $(redis EXISTS m:2:3)"
show_match manual

echo "-- a transaction of three statements becomes visible at once"
app_sql "BEGIN; UPDATE channel SET name = 'Engines II' WHERE channel_id = 1; UPDATE channel SET tags = '{a,b}' WHERE channel_id = 1; INSERT INTO user_account (email, display_name) VALUES ('alan@example.com', 'Alan'); COMMIT;"
wait_for user_account:3
show channel:1
show user_account:3

echo
echo "== sluice's checkpoints: in Redis, and the checkpoint document of media_rt"
redis HGETALL sluice:cache:checkpoint | paste - - | sed 's/^/   /'
echo "   media_rt (document 9223372036854775808): $("$sql_client" -h 127.0.0.1 -P "$search_port" --protocol=tcp -N -B -r \
  -e "SELECT _sluice_checkpoint FROM media_rt WHERE id = 9223372036854775808" | grep -E '^(snapshot|position) ' | paste -sd' ')"
echo
echo "== sluice status"
build/sluice status --config "$dir/sluice.toml" | sed 's/^/   /'
echo
echo "== GET http://127.0.0.1:$metrics_port/healthz and some of /metrics"
echo "   $(curl -s "http://127.0.0.1:$metrics_port/healthz")"
curl -s "http://127.0.0.1:$metrics_port/metrics" |
  grep -E '^sluice_(changes_applied_total|replication_lag_seconds|slot_lag_bytes|snapshot_rows_done)' | sed 's/^/   /'
echo
echo "== sluice verify: both sinks against the database"
if ! build/sluice verify --config "$dir/sluice.toml" >"$dir/verify.out" 2>&1; then
  sed 's/^/   /' "$dir/verify.out"
  fail "sluice verify found drift (exit non-zero)"
fi
sed 's/^/   /' "$dir/verify.out"
echo
kill -TERM "$sluice_pid"
wait "$sluice_pid" && echo "sluice exited 0 after SIGTERM"
sluice_pid=""
echo
echo "Demo finished; the servers are stopped. sluice's log was:"
sed 's/^/   /' "$dir/sluice.log"
