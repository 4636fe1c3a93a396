#!/usr/bin/env bash
# The benchmark of issue 4: sluice side by side with PostgreSQL's own limit
# (pg_recvlogical draining a slot to /dev/null) and with the pipeline a team
# writes by hand (bench/peers/node: pg-logical-replication + ioredis), on the
# same WAL, on throwaway PostgreSQL and Redis started here on loopback; and
# (issue 13) sluice's snapshot and catch-up into a search index (Sphinx 2.2
# searchd, started here too) side by side with a plain SphinxQL client sending
# the same documents as bulk REPLACE batches (bench/tools/sphinxql_floor.cc).
#
#   bash bench/run.sh            # the full run (1,000,000 changes; several minutes)
#   bash bench/run.sh --tiny     # a few seconds of each part (the test suite runs this)
#
# Sizes can be set in the environment: BENCH_CHANGES (catch-up changes, default
# 1000000: 90% as UPDATEs in transactions of 10,000 rows, 10% as single-row
# transactions), BENCH_ROWS (rows of the catch-up table, 100000),
# BENCH_SNAPSHOT_ROWS (1000000), BENCH_LATENCY_RATES ("2000 10000" commits/s),
# BENCH_LATENCY_SECONDS (20), BENCH_BIG_TXN_ROWS (rows of the one big
# transaction, = BENCH_SNAPSHOT_ROWS), BENCH_SEARCH_ROWS (rows of the search
# snapshot, = BENCH_SNAPSHOT_ROWS), BENCH_SEARCH_CHANGES (changes of the search
# catch-up, = BENCH_CHANGES, on a table of BENCH_ROWS rows). Ports:
# BENCH_PG_PORT (23432), BENCH_REDIS_PORT (23379), BENCH_SEARCH_PORT (29307).
# Without searchd on PATH (package sphinxsearch) the search parts are left out.
# Prints one Markdown report on stdout
# (docs/benchmarks.md quotes it); progress goes to stderr. Exits non-zero when a
# part fails; never asserts a timing.
set -euo pipefail
cd "$(dirname "$0")/.."

tiny=0
[[ "${1:-}" == "--tiny" ]] && tiny=1
if ((tiny)); then
  : "${BENCH_CHANGES:=20000}" "${BENCH_ROWS:=10000}" "${BENCH_SNAPSHOT_ROWS:=20000}"
  : "${BENCH_LATENCY_RATES:=200}" "${BENCH_LATENCY_SECONDS:=2}"
fi
changes=${BENCH_CHANGES:-1000000}
rows=${BENCH_ROWS:-100000}
snapshot_rows=${BENCH_SNAPSHOT_ROWS:-1000000}
latency_rates=${BENCH_LATENCY_RATES:-"2000 10000"}
latency_seconds=${BENCH_LATENCY_SECONDS:-20}
big_txn_rows=${BENCH_BIG_TXN_ROWS:-$snapshot_rows}
search_snapshot_rows=${BENCH_SEARCH_ROWS:-$snapshot_rows}
search_changes=${BENCH_SEARCH_CHANGES:-$changes}
txn_rows=$((rows < 10000 ? rows : 10000))
build_dir=${SLUICE_BUILD_DIR:-build}
# Below Linux's ephemeral range (32768-60999): an outgoing connection's port
# left in TIME_WAIT there can stop a server from binding.
pg_port=${BENCH_PG_PORT:-23432}
redis_port=${BENCH_REDIS_PORT:-23379}
search_port=${BENCH_SEARCH_PORT:-29307}
# Batch sizes sluice uses, which the floor copies: a snapshot batch is one chunk
# of source.snapshot_chunk_rows (10000); a streamed batch has at most
# batch_max_changes (5000) changes.
search_snapshot_batch=10000
search_catchup_batch=5000

log() { echo "bench: $*" >&2; }
now() { date +%s.%N; }
elapsed() { printf "%.3f" "$(echo "$(now) - $1" | bc)"; }
rate() { echo "scale=0; $1 / $2" | bc; }
ratio() { printf "%.2f" "$(echo "scale=4; $1 / $2" | bc)"; }

# ---- build, peer, servers ----
if [[ -z "${BENCH_NO_BUILD:-}" ]]; then  # the test suite has built everything already
  bash scripts/install-deps.sh >/dev/null
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build_dir" -j"$(nproc)" --target sluice latency_probe sphinxql_floor >/dev/null
fi
sluice_bin=$build_dir/sluice
probe_bin=$build_dir/bench/latency_probe
floor_bin=$build_dir/bench/sphinxql_floor
searchd_bin=${SLUICE_SEARCHD:-$(command -v searchd || true)}
search=0
[[ -n "$searchd_bin" ]] && search=1
((search)) || log "no searchd here (package sphinxsearch): the search-index parts are left out of this run"

peer=0
if command -v node >/dev/null && (($(node -p 'process.versions.node.split(".")[0]') >= 20)); then
  (cd bench/peers/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null) && peer=1
fi
((peer)) || log "no Node.js >= 20 with npm here: the Node.js peer is left out of this run"

pg_bindir=${SLUICE_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}
dir=$(mktemp -d /tmp/sluice-bench-XXXXXX)
chmod 755 "$dir"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/local-servers.sh stop "$dir/servers" || true
  rm -rf "$dir"
}
trap cleanup EXIT
for port in "$pg_port" "$redis_port" $( ((search)) && echo "$search_port"); do
  if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "bench: port $port is in use (a server left from an earlier run?); set BENCH_PG_PORT / BENCH_REDIS_PORT / BENCH_SEARCH_PORT" >&2
    exit 1
  fi
done
scripts/local-servers.sh start "$dir/servers" "$pg_port" "$redis_port"
psql -X -q -h "$dir/servers/pg" -p "$pg_port" -U postgres -d postgres \
  -c "CREATE ROLE app LOGIN SUPERUSER PASSWORD 'bench'" -c "CREATE DATABASE app OWNER app"
export PGPASSWORD=bench
conninfo="host=127.0.0.1 port=$pg_port dbname=app user=app"

# searchd (Sphinx 2.2) configured as the tests run it (tests/harness/sphinx_server.cc),
# with the RT indexes of the two search tables exactly as `sluice check` prints
# them (the field payload also a string attribute; sluice's reserved attributes).
# The search parts have tables of their own, of bench_rows' shape: bench_rows
# has rows -1 and -2 (the probe's and the marker's), and a document id must be
# positive.
if ((search)); then
  [[ -x "$floor_bin" ]] || { log "no $floor_bin: build the target sphinxql_floor"; exit 1; }
  mkdir -p "$dir/search"
  {
    for index in search_snap search_rows; do
      printf 'index %s\n{\n' "$index"
      printf '\t%s\n' "type = rt" "path = $dir/search/$index" "rt_field = payload" "rt_attr_bigint = n" \
        "rt_attr_string = payload" "rt_attr_string = _sluice_version" "rt_attr_string = _sluice_identity" \
        "rt_attr_string = _sluice_digest" "rt_attr_string = _sluice_checkpoint"
      printf '}\n'
    done
    printf 'searchd\n{\n'
    printf '\t%s\n' "listen = 127.0.0.1:$search_port:mysql41" "workers = threads" "watchdog = 0" \
      "binlog_path = $dir/search" "binlog_flush = 2" "pid_file = $dir/search/searchd.pid" \
      "log = $dir/search/searchd.log" "query_log = $dir/search/query.log"
    printf '}\n'
  } >"$dir/search/sphinx.conf"
  "$searchd_bin" --config "$dir/search/sphinx.conf" --nodetach >"$dir/search/console.log" 2>&1 &
  searchd_pid=$!
  pids+=("$searchd_pid")
  give_up=$((SECONDS + 30))
  until "$floor_bin" --query "$search_port" "SHOW TABLES" >/dev/null 2>&1; do
    if ! kill -0 "$searchd_pid" 2>/dev/null || grep -q "bind() failed" "$dir/search/console.log" || ((SECONDS > give_up)); then
      log "searchd did not start:"
      cat "$dir/search/console.log" >&2
      exit 1
    fi
    sleep 0.1
  done
fi
sql() { psql -X -q -At -h 127.0.0.1 -p "$pg_port" -U app -d app "$@"; }
rcli() { redis-cli -p "$redis_port" "$@"; }

# bench_rows: the catch-up and latency table (~200-byte rows); rows -1 and -2
# are the latency probe's and the end marker's.
sql -c "CREATE TABLE bench_rows (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0, payload text NOT NULL)"
sql -c "INSERT INTO bench_rows SELECT g, 0, repeat('x', 180) FROM generate_series(-2, $rows) g WHERE g <> 0"
sql -c "CREATE TABLE snap_rows (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0, payload text NOT NULL)"
sql -c "INSERT INTO snap_rows SELECT g, 0, repeat('s', 180) FROM generate_series(1, $snapshot_rows) g"
sql -c "CREATE PUBLICATION bench FOR TABLE bench_rows" -c "CREATE PUBLICATION snap FOR TABLE snap_rows"
sql -c "VACUUM ANALYZE"

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
TOML
cat >"$dir/snap.toml" <<TOML
[source]
dsn = "$conninfo password=bench"
slot = "bench_snap"
publication = "snap"
tables = ["public.snap_rows"]
[[sinks]]
name = "snap"
url = "redis://127.0.0.1:$redis_port/1"
TOML

cpu_seconds() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }
peak_rss_mb() { awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# Starts sluice with config $1 in the background, its output in $dir/$2.log;
# sets sluice_pid and sluice_log.
start_sluice() {
  sluice_log=$dir/$2.log
  "$sluice_bin" run --config "$1" >"$sluice_log" 2>&1 &
  sluice_pid=$!
  pids+=("$sluice_pid")
}
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
wait_log() {  # text: waits until sluice's log has it
  until grep -qs "$1" "$sluice_log"; do  # -s: the file may not be there yet
    kill -0 "$sluice_pid" 2>/dev/null || { cat "$sluice_log" >&2; exit 1; }
    sleep 0.05
  done
}

# The end marker: one more single-row transaction; prints the WAL insert
# position read inside it, before its change (every change before the marker
# is before that position; the marker's own are after).
# Call as `marker_value=$((marker_value + 1)); lsn=$(write_marker)`: the
# command substitution runs in a subshell, so the count is kept out here.
marker_value=0
write_marker() {
  sql -c "BEGIN" -c "SELECT pg_current_wal_insert_lsn()" \
    -c "UPDATE bench_rows SET n = $marker_value WHERE id = -2" -c "COMMIT" | grep /
}
# Waits (up to 10 minutes) until Redis key $1 (db 0) shows the current marker
# value (sluice writes "n": 5, the peer "n":"5": node-postgres reads a bigint
# as a string).
wait_marker() {
  local give_up=$((SECONDS + 600))
  until rcli GET "$1" 2>/dev/null | grep -Eq "\"n\": ?\"?$marker_value\"?[,}]"; do
    if ((SECONDS > give_up)); then
      echo "bench: $1 never showed n = $marker_value; sluice log and peer log:" >&2
      tail -20 "$sluice_log" "$dir/peer.log" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.002
  done
}

# ---- 1. catch-up ----
log "creating the slots"
start_sluice "$dir/sluice.toml" create  # creates bench_sluice (snapshot = "never") and its checkpoint
wait_log "streaming from slot"
stop_pid "$sluice_pid"
sql -c "SELECT pg_create_logical_replication_slot('bench_recvlogical', 'pgoutput')" >/dev/null
((peer)) && sql -c "SELECT pg_create_logical_replication_slot('bench_peer', 'pgoutput')" >/dev/null

# The catch-up WAL: write_updates TABLE CHANGES writes about CHANGES updates of
# rows 1..BENCH_ROWS of TABLE, 90% as transactions of $txn_rows rows, 10% as
# single-row transactions (pgbench, 4 clients); sets w_big, w_single and
# w_written (what was written: single-row transactions are a multiple of 4).
write_updates() {
  local table=$1 n=$2 i first
  w_big=$((n * 9 / 10 / txn_rows))
  w_single=$((n - w_big * txn_rows))
  log "writing $n changes to $table: $w_big transactions of $txn_rows rows, $w_single single-row transactions"
  for ((i = 0; i < w_big; i++)); do
    first=$(((i * txn_rows) % rows + 1))
    echo "UPDATE $table SET n = n + 1 WHERE id BETWEEN $first AND $((first + txn_rows - 1));"
  done | sql >/dev/null
  cat >"$dir/single-$table.sql" <<SQL
\set id random(1, $rows)
UPDATE $table SET n = n + 1 WHERE id = :id;
SQL
  "$pg_bindir/pgbench" -n -h 127.0.0.1 -p "$pg_port" -U app -c 4 -j 2 -t $((w_single / 4)) \
    -f "$dir/single-$table.sql" app >/dev/null
  w_single=$((w_single / 4 * 4))
  w_written=$((w_big * txn_rows + w_single))
}
t=$(now)
write_updates bench_rows "$changes"
big=$w_big single=$w_single changes=$w_written
marker_value=$((marker_value + 1))
end_lsn=$(write_marker)
write_seconds=$(elapsed "$t")
wal_bytes=$(sql -c "SELECT pg_current_wal_lsn() - confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'bench_recvlogical'")
log "written in ${write_seconds}s; $wal_bytes bytes of WAL behind each slot"

log "(a) pg_recvlogical"
t=$(now)
"$pg_bindir/pg_recvlogical" -d "$conninfo" --slot bench_recvlogical --start --endpos "$end_lsn" \
  -o proto_version=1 -o publication_names=bench -f /dev/null
recv_seconds=$(elapsed "$t")

peer_seconds=""
if ((peer)); then
  log "(b) Node.js peer"
  t=$(now)
  PEER_PG="postgres://app:bench@127.0.0.1:$pg_port/app" PEER_SLOT=bench_peer PEER_PUBLICATION=bench \
    PEER_REDIS_PORT=$redis_port PEER_END_LSN=$end_lsn node bench/peers/node/peer.js >"$dir/peer.log" 2>&1
  wait_marker "peer:bench_rows:-2"
  peer_seconds=$(elapsed "$t")
fi

log "(c) sluice"
t=$(now)
start_sluice "$dir/sluice.toml" catchup
cpu0=$(cpu_seconds "$sluice_pid")
wait_marker "bench_rows:-2"
sluice_seconds=$(elapsed "$t")
sluice_cpu=$(printf "%.2f" "$(echo "$(cpu_seconds "$sluice_pid") - $cpu0" | bc)")
catchup_rss=$(peak_rss_mb "$sluice_pid")

# ---- 2. latency ----
cat >"$dir/load.sql" <<SQL
\set id random(1, $rows)
UPDATE bench_rows SET n = n + 1 WHERE id = :id;
SQL
latency_rows=()
measure_latency() {  # consumer-name key-prefix rate
  local out
  "$pg_bindir/pgbench" -n -h 127.0.0.1 -p "$pg_port" -U app -c 4 -j 2 -R "$3" -T "$latency_seconds" \
    -f "$dir/load.sql" app >"$dir/pgbench.log" 2>&1 &
  local load=$!
  out=$("$probe_bin" "$conninfo password=bench" "$redis_port" "$2" -1 100 "$latency_seconds") || true
  wait "$load" || true
  local tps
  tps=$(awk '/^tps/ {printf "%.0f", $3}' "$dir/pgbench.log")
  latency_rows+=("| $3 ($tps achieved) | $1 | $(echo "$out" | awk '{print $2 " | " $4 " | " $6 " | " $8 " | " $10}') |")
}
for r in $latency_rates; do
  log "latency at $r commits/s: sluice"
  marker_value=$((marker_value + 1))
  write_marker >/dev/null
  wait_marker "bench_rows:-2"
  measure_latency sluice "bench_rows:" "$r"
done
stop_pid "$sluice_pid"
if ((peer)); then
  PEER_PG="postgres://app:bench@127.0.0.1:$pg_port/app" PEER_SLOT=bench_peer PEER_PUBLICATION=bench \
    PEER_REDIS_PORT=$redis_port node bench/peers/node/peer.js >"$dir/peer.log" 2>&1 &
  peer_pid=$!
  pids+=("$peer_pid")
  for r in $latency_rates; do
    log "latency at $r commits/s: Node.js peer"
    marker_value=$((marker_value + 1))
  write_marker >/dev/null
    wait_marker "peer:bench_rows:-2"
    measure_latency "Node.js peer" "peer:bench_rows:" "$r"
  done
  stop_pid "$peer_pid"
fi

# ---- 3. snapshot ----
log "snapshot: COPY TO STDOUT of $snapshot_rows rows"
t=$(now)
sql -c "COPY snap_rows TO STDOUT" >/dev/null
copy_seconds=$(elapsed "$t")
log "snapshot: sluice"
t=$(now)
start_sluice "$dir/snap.toml" snapshot
wait_log "streaming from slot"
snap_seconds=$(elapsed "$t")
snap_copy_seconds=$(grep -o "every table copied, [0-9]* rows in [0-9.]*s" "$sluice_log" | tail -1 | grep -o "[0-9.]*s$" | tr -d s)
snap_rss=$(peak_rss_mb "$sluice_pid")
stop_pid "$sluice_pid"

# Redis alone: what the snapshot writes (each row's document and its index
# entry, MSET and HSET 500 rows at a time, as sluice sends them), pre-formatted
# and piped by redis-cli into an empty database: the floor any snapshot into
# this Redis has, whatever reads the rows.
# Written twice: documents and index entries (what sluice writes), then the
# documents alone (no data model could write less).
redis_floor() {  # with_index (1/0): prints the seconds
  awk -v n="$snapshot_rows" -v per=500 -v with_index="$1" 'BEGIN {
    pad = sprintf("%180s", ""); gsub(/ /, "s", pad)
    index_key = "sluice:snap:index:public.snap_rows"; version = "0000000000000000:00000000"
    for (start = 1; start <= n; start += per) {
      last = start + per - 1; if (last > n) last = n; count = last - start + 1
      printf "*%d\r\n$4\r\nMSET\r\n", 1 + 2 * count
      for (i = start; i <= last; i++) {
        key = "snap_rows:" i; doc = "{\"id\":" i ",\"n\":0,\"payload\":\"" pad "\"}"
        printf "$%d\r\n%s\r\n$%d\r\n%s\r\n", length(key), key, length(doc), doc
      }
      if (!with_index) continue
      printf "*%d\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n", 2 + 2 * count, length(index_key), index_key
      for (i = start; i <= last; i++) {
        field = length(i "") ":" i; entry = version " snap_rows:" i
        printf "$%d\r\n%s\r\n$%d\r\n%s\r\n", length(field), field, length(entry), entry
      }
    }
  }' >"$dir/snapshot-writes.resp"
  rcli -n 2 FLUSHDB >/dev/null
  local t
  t=$(now)
  rcli -n 2 --pipe <"$dir/snapshot-writes.resp" >"$dir/pipe.log"
  elapsed "$t"
  grep -q "errors: 0," "$dir/pipe.log" || { cat "$dir/pipe.log" >&2; exit 1; }
  [[ $(rcli -n 2 DBSIZE) == $((snapshot_rows + $1)) ]] || { log "the piped writes did not all land"; exit 1; }
  rcli -n 2 FLUSHDB >/dev/null
  rm -f "$dir/snapshot-writes.resp"
}
log "snapshot: the same writes piped into Redis alone"
redis_floor_seconds=$(redis_floor 1)
redis_docs_seconds=$(redis_floor 0)

# ---- 4. memory through one big transaction ----
log "one transaction updating $big_txn_rows rows"
start_sluice "$dir/snap.toml" big-transaction
wait_log "streaming from slot"
t=$(now)
sql -c "UPDATE snap_rows SET n = n + 1 WHERE id <= $big_txn_rows"
committed=$(elapsed "$t")
t=$(now)
until redis-cli -p "$redis_port" -n 1 GET "snap_rows:$big_txn_rows" | grep -Eq '"n": ?1[,}]'; do sleep 0.01; done
big_seconds=$(elapsed "$t")
big_rss=$(peak_rss_mb "$sluice_pid")
stop_pid "$sluice_pid"

# ---- 5. search index: snapshot and catch-up, sluice against the floor ----
# The floor (bench/tools/sphinxql_floor.cc) empties the index, then sends the
# same number of documents of the same shape as bulk REPLACE batches of the size
# sluice's batches have, each in BEGIN/COMMIT: searchd accepting the documents
# with nothing else in the way. CPU seconds are read from /proc for sluice,
# searchd and (catch-up) the walsender, over each consumer's run.
minus() { printf "%.2f" "$(echo "$1 - $2" | bc)"; }
search_q() { "$floor_bin" --query "$search_port" "$1"; }
metric() {  # name: its value for sink 'search' in the running sluice's /metrics (its log has the port)
  local url
  url=$(grep -o "metrics: serving GET /metrics and /healthz on http://[0-9.:]*" "$sluice_log" | grep -o "http://.*")
  curl -s "$url/metrics" | awk -v m="$1{sink=\"search\"}" '$1 == m {printf "%.0f\n", $2}'
}
# The SELECTs searchd logged after line $1 of its query log: "count seconds",
# the seconds as searchd reports each query.
select_stats() {
  tail -n +"$(($1 + 1))" "$dir/search/query.log" |
    awk 'match($0, /\] [0-9.]+ sec/) {n++; s += substr($0, RSTART + 2, RLENGTH - 6)} END {printf "%d %.2f\n", n, s}'
}
query_lines() { wc -l <"$dir/search/query.log"; }
# sluice's three busiest threads' CPU seconds: "a / b / c".
thread_cpu() {
  for f in /proc/"$1"/task/*/stat; do awk '{printf "%.2f\n", ($14 + $15) / 100}' "$f"; done | sort -rn | head -3 |
    paste -sd/ | sed 's|/| / |g'
}
# run_floor INDEX DOCS BATCH ROWS CHAR: sets floor_seconds, floor_cpu (the
# client's own user + system CPU) and floor_searchd_cpu.
run_floor() {
  local s0 TIMEFORMAT='%U %S'
  s0=$(cpu_seconds "$searchd_pid")
  if ! { time "$floor_bin" "$search_port" "$@" >"$dir/floor.out"; } 2>"$dir/floor.time"; then
    cat "$dir/floor.time" >&2
    exit 1
  fi
  floor_searchd_cpu=$(minus "$(cpu_seconds "$searchd_pid")" "$s0")
  floor_seconds=$(cat "$dir/floor.out")
  floor_cpu=$(awk '{printf "%.2f", $1 + $2}' "$dir/floor.time")
}
search_config() {  # slot publication table snapshot
  cat <<TOML
[source]
dsn = "$conninfo password=bench"
slot = "$1"
publication = "$2"
tables = ["public.$3"]
snapshot = "$4"
[metrics]
listen = "127.0.0.1:0"
[[sinks]]
name = "search"
kind = "manticore"
url = "mysql://127.0.0.1:$search_port"
[[sinks.tables]]
table = "public.$3"
fields = ["payload"]
TOML
}
if ((search)); then
  log "search index: $search_snapshot_rows rows for the snapshot, $((rows + 1)) for the catch-up"
  sql -c "CREATE TABLE search_snap (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0, payload text NOT NULL)" \
    -c "INSERT INTO search_snap SELECT g, 0, repeat('s', 180) FROM generate_series(1, $search_snapshot_rows) g"
  sql -c "CREATE TABLE search_rows (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0, payload text NOT NULL)" \
    -c "INSERT INTO search_rows SELECT g, 0, repeat('x', 180) FROM generate_series(1, $((rows + 1))) g"
  sql -c "CREATE PUBLICATION search_snap FOR TABLE search_snap" -c "CREATE PUBLICATION search_rows FOR TABLE search_rows"
  sql -c "VACUUM ANALYZE search_snap" -c "VACUUM ANALYZE search_rows"
  search_config bench_search_snap search_snap search_snap initial >"$dir/search-snap.toml"
  search_config bench_search search_rows search_rows never >"$dir/search-catchup.toml"

  # (a) snapshot
  log "search snapshot: sluice"
  q0=$(query_lines)
  s0=$(cpu_seconds "$searchd_pid")
  t=$(now)
  start_sluice "$dir/search-snap.toml" search-snapshot
  wait_log "streaming from slot"
  ss_seconds=$(elapsed "$t")
  ss_searchd_cpu=$(minus "$(cpu_seconds "$searchd_pid")" "$s0")
  ss_cpu=$(cpu_seconds "$sluice_pid")
  ss_copy_seconds=$(grep -o "every table copied, [0-9]* rows in [0-9.]*s" "$sluice_log" | tail -1 | grep -o "[0-9.]*s$" | tr -d s)
  read -r ss_selects ss_select_seconds < <(select_stats "$q0")
  ss_workers=$(grep -o "with [0-9]* workers" "$sluice_log" | head -1 | grep -o "[0-9]*")
  stop_pid "$sluice_pid"
  # Row documents only: sluice's own documents have ids from 2^63 up.
  docs=$(search_q "SELECT COUNT(*) FROM search_snap WHERE id < 9223372036854775808")
  [[ $docs == "$search_snapshot_rows" ]] || { log "search_snap holds $docs documents after the snapshot"; exit 1; }
  log "search snapshot: the floor"
  run_floor search_snap "$search_snapshot_rows" "$search_snapshot_batch" "$search_snapshot_rows" s
  fs_seconds=$floor_seconds fs_cpu=$floor_cpu fs_searchd_cpu=$floor_searchd_cpu

  # (b) catch-up
  log "search catch-up: creating the slot"
  start_sluice "$dir/search-catchup.toml" search-create  # snapshot = "never": the slot and the checkpoint document
  wait_log "streaming from slot"
  stop_pid "$sluice_pid"
  t=$(now)
  write_updates search_rows "$search_changes"
  sc_big=$w_big sc_single=$w_single
  marker_id=$((rows + 1))
  # The end marker, and the WAL insert position read inside it before its change:
  # once sluice has applied everything past that position, the marker is in.
  marker_lsn=$(sql -c "BEGIN" -c "SELECT pg_current_wal_insert_lsn() - '0/0'" \
    -c "UPDATE search_rows SET n = 1 WHERE id = $marker_id" -c "COMMIT" | grep -E '^[0-9]+$')
  sc_changes=$((w_written + 1))
  sc_write_seconds=$(elapsed "$t")
  sc_wal_bytes=$(sql -c "SELECT pg_current_wal_lsn() - confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'bench_search'")
  log "search catch-up: sluice"
  q0=$(query_lines)
  s0=$(cpu_seconds "$searchd_pid")
  t=$(now)
  start_sluice "$dir/search-catchup.toml" search-catchup
  wait_log "metrics: serving"
  walsender=""
  give_up=$((SECONDS + 600))
  # Polls sluice's sluice_last_applied_lsn (set once searchd has committed a
  # batch), not searchd: each SELECT there would cost searchd a scan.
  until (($(metric sluice_last_applied_lsn || echo 0) > marker_lsn)); do
    kill -0 "$sluice_pid" 2>/dev/null || { cat "$sluice_log" >&2; exit 1; }
    ((SECONDS < give_up)) || { log "the search catch-up did not end within 10 minutes"; tail -20 "$sluice_log" >&2; exit 1; }
    [[ -n "$walsender" ]] || walsender=$(sql -c "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'bench_search'")
    sleep 0.05
  done
  sc_seconds=$(elapsed "$t")
  [[ $(search_q "SELECT n FROM search_rows WHERE id = $marker_id") == 1 ]] || { log "the marker is not in search_rows"; exit 1; }
  sc_searchd_cpu=$(minus "$(cpu_seconds "$searchd_pid")" "$s0")
  sc_cpu=$(cpu_seconds "$sluice_pid")
  [[ -n "$walsender" ]] || walsender=$(sql -c "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'bench_search'")
  sc_wal_cpu=$(cpu_seconds "$walsender")
  sc_batches=$(metric sluice_batches_applied_total)
  sc_threads=$(thread_cpu "$sluice_pid")
  read -r sc_selects sc_select_seconds < <(select_stats "$q0")
  stop_pid "$sluice_pid"
  log "search catch-up: the floor"
  run_floor search_rows "$sc_changes" "$search_catchup_batch" "$rows" x
  fc_seconds=$floor_seconds fc_cpu=$floor_cpu fc_searchd_cpu=$floor_searchd_cpu
fi

# ---- report ----
recv_rate=$(rate "$changes" "$recv_seconds")
sluice_rate=$(rate "$changes" "$sluice_seconds")
cat <<REPORT
## Results ($(date -u +%Y-%m-%d), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), PostgreSQL $("$pg_bindir/postgres" --version | awk '{print $3}'), Redis $(redis-server --version | grep -o 'v=[0-9.]*' | cut -c3-))

Command: \`bash bench/run.sh$( ((tiny)) && echo " --tiny")\` (BENCH_CHANGES=$changes BENCH_ROWS=$rows BENCH_SNAPSHOT_ROWS=$snapshot_rows$( ((search)) && echo " BENCH_SEARCH_ROWS=$search_snapshot_rows BENCH_SEARCH_CHANGES=$search_changes"))

### 1. Catch-up: $changes changes ($big transactions of $txn_rows rows, $single single-row transactions; $wal_bytes bytes of WAL), written in ${write_seconds} s before any consumer ran

| consumer | seconds | changes/s | sluice's rate is |
|---|---|---|---|
| pg_recvlogical to /dev/null (the limit) | $recv_seconds | $recv_rate | $(ratio "$recv_seconds" "$sluice_seconds")x of it |
REPORT
if ((peer)); then
  echo "| Node.js peer (pg-logical-replication + ioredis) | $peer_seconds | $(rate "$changes" "$peer_seconds") | $(ratio "$peer_seconds" "$sluice_seconds")x of it |"
else
  echo "| Node.js peer | not run (no Node.js >= 20) | | |"
fi
cat <<REPORT
| sluice into Redis (until the last change is readable) | $sluice_seconds | $sluice_rate | |

sluice: ${sluice_cpu} CPU seconds for $changes changes ($(printf "%.2f" "$(echo "scale=4; $sluice_cpu * 1000000 / $changes" | bc)") s per million); peak RSS ${catchup_rss} MB.

### 2. Latency: commit to readable in Redis (probe: 100 single-row commits/s on top of the pgbench load, over ${latency_seconds} s)

| load (commits/s) | consumer | samples | p50 ms | p99 ms | max ms | not seen in 10 s |
|---|---|---|---|---|---|---|
$(printf '%s\n' "${latency_rows[@]}")

### 3. Initial snapshot: $snapshot_rows rows of ~200 bytes

| | seconds | rows/s |
|---|---|---|
| COPY snap_rows TO STDOUT > /dev/null | $copy_seconds | $(rate "$snapshot_rows" "$copy_seconds") |
| sluice, the copy itself (its log) | $snap_copy_seconds | $(rate "$snapshot_rows" "$snap_copy_seconds") |
| sluice, start to streaming (slot creation, checks) | $snap_seconds | $(rate "$snapshot_rows" "$snap_seconds") |
| Redis alone: the same documents and index entries, pre-formatted, \`redis-cli --pipe\` | $redis_floor_seconds | $(rate "$snapshot_rows" "$redis_floor_seconds") |
| Redis alone: the documents only (MSET), pre-formatted, \`redis-cli --pipe\` | $redis_docs_seconds | $(rate "$snapshot_rows" "$redis_docs_seconds") |

sluice is $(ratio "$copy_seconds" "$snap_copy_seconds")x the COPY rate (the copy itself). Redis alone, writing what the snapshot writes, is $(ratio "$copy_seconds" "$redis_floor_seconds")x of it, and $(ratio "$copy_seconds" "$redis_docs_seconds")x writing the documents alone; peak RSS ${snap_rss} MB.

### 4. One transaction updating $big_txn_rows rows

COMMIT took ${committed} s; the last row was readable in Redis ${big_seconds} s after COMMIT returned ($(rate "$big_txn_rows" "$big_seconds") changes/s); sluice's peak RSS ${big_rss} MB.
REPORT
if ((search)); then
  cat <<REPORT

### 5. Search index: sluice into searchd against the floor

searchd: $("$searchd_bin" --help 2>/dev/null | head -1 | awk '{print $1, $2}'), RT indexes as \`sluice check\` prints them (rt_mem_limit default), \`workers = threads\`, \`binlog_flush = 2\`. The floor is \`bench/tools/sphinxql_floor\`: one SphinxQL connection sending the same number of documents of the same shape and sizes into the emptied index as multi-row \`REPLACE\` batches of sluice's batch size (snapshot: $search_snapshot_batch rows, one chunk; catch-up: $search_catchup_batch, \`batch_max_changes\`), each in \`BEGIN\`/\`COMMIT\`, nothing else. CPU: user + system seconds from /proc over each run.

| | documents | seconds | documents/s | sluice or floor CPU s | searchd CPU s | walsender CPU s |
|---|---|---|---|---|---|---|
| (a) snapshot: sluice ($ss_workers snapshot workers), start to streaming | $search_snapshot_rows | $ss_seconds | $(rate "$search_snapshot_rows" "$ss_seconds") | $ss_cpu | $ss_searchd_cpu | |
| (a) snapshot: sluice, the copy itself (its log) | $search_snapshot_rows | $ss_copy_seconds | $(rate "$search_snapshot_rows" "$ss_copy_seconds") | | | |
| (a) snapshot: the floor, batches of $search_snapshot_batch | $search_snapshot_rows | $fs_seconds | $(rate "$search_snapshot_rows" "$fs_seconds") | $fs_cpu | $fs_searchd_cpu | |
| (b) catch-up: sluice, until the last change is in the index | $sc_changes | $sc_seconds | $(rate "$sc_changes" "$sc_seconds") | $sc_cpu | $sc_searchd_cpu | $sc_wal_cpu |
| (b) catch-up: the floor, batches of $search_catchup_batch over $rows ids | $sc_changes | $fc_seconds | $(rate "$sc_changes" "$fc_seconds") | $fc_cpu | $fc_searchd_cpu | |

(b)'s WAL: $sc_changes changes of search_rows ($sc_big transactions of $txn_rows rows, $sc_single single-row transactions, the marker; $sc_wal_bytes bytes), written in $sc_write_seconds s before sluice started; sluice applied them in $sc_batches batches ($(rate "$sc_changes" "$sc_batches") changes per batch); its busiest threads: $sc_threads CPU s.

sluice's reads (each batch reads the index's checkpoint document, then the version and identity of every document it writes, 1000 ids per SELECT): snapshot $ss_selects SELECTs, $ss_select_seconds s in searchd by its query log; catch-up $sc_selects SELECTs, $sc_select_seconds s. The floor reads nothing.

Snapshot: sluice's rate is $(ratio "$fs_seconds" "$ss_seconds")x the floor's from start to streaming ($(ratio "$fs_seconds" "$ss_copy_seconds")x for the copy itself); searchd worked $(ratio "$ss_searchd_cpu" "$fs_searchd_cpu")x the CPU seconds for sluice's documents that it did for the floor's. Catch-up: sluice's rate is $(ratio "$fc_seconds" "$sc_seconds")x the floor's; searchd $(ratio "$sc_searchd_cpu" "$fc_searchd_cpu")x the floor's CPU seconds. Cores busy on average (sluice + searchd [+ walsender] CPU seconds / seconds, of $(nproc)): snapshot $(ratio "$(echo "$ss_cpu + $ss_searchd_cpu" | bc)" "$ss_seconds") (floor $(ratio "$(echo "$fs_cpu + $fs_searchd_cpu" | bc)" "$fs_seconds")), catch-up $(ratio "$(echo "$sc_cpu + $sc_searchd_cpu + $sc_wal_cpu" | bc)" "$sc_seconds") (floor $(ratio "$(echo "$fc_cpu + $fc_searchd_cpu" | bc)" "$fc_seconds")).
REPORT
fi
