#!/usr/bin/env bash
# The benchmark of issue 4: sluice side by side with PostgreSQL's own limit
# (pg_recvlogical draining a slot to /dev/null) and with the pipeline a team
# writes by hand (bench/peers/node: pg-logical-replication + ioredis), on the
# same WAL, on throwaway PostgreSQL and Redis started here on loopback.
#
#   bash bench/run.sh            # the full run (1,000,000 changes; several minutes)
#   bash bench/run.sh --tiny     # a few seconds of each part (the test suite runs this)
#
# Sizes can be set in the environment: BENCH_CHANGES (catch-up changes, default
# 1000000: 90% as UPDATEs in transactions of 10,000 rows, 10% as single-row
# transactions), BENCH_ROWS (rows of the catch-up table, 100000),
# BENCH_SNAPSHOT_ROWS (1000000), BENCH_LATENCY_RATES ("2000 10000" commits/s),
# BENCH_LATENCY_SECONDS (20), BENCH_BIG_TXN_ROWS (rows of the one big
# transaction, = BENCH_SNAPSHOT_ROWS). Prints one Markdown report on stdout
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
txn_rows=$((rows < 10000 ? rows : 10000))
build_dir=${SLUICE_BUILD_DIR:-build}
# Below Linux's ephemeral range (32768-60999): an outgoing connection's port
# left in TIME_WAIT there can stop a server from binding.
pg_port=${BENCH_PG_PORT:-23432}
redis_port=${BENCH_REDIS_PORT:-23379}

log() { echo "bench: $*" >&2; }
now() { date +%s.%N; }
elapsed() { printf "%.3f" "$(echo "$(now) - $1" | bc)"; }
rate() { echo "scale=0; $1 / $2" | bc; }
ratio() { printf "%.2f" "$(echo "scale=4; $1 / $2" | bc)"; }

# ---- build, peer, servers ----
if [[ -z "${BENCH_NO_BUILD:-}" ]]; then  # the test suite has built everything already
  bash scripts/install-deps.sh >/dev/null
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build_dir" -j"$(nproc)" --target sluice latency_probe >/dev/null
fi
sluice_bin=$build_dir/sluice
probe_bin=$build_dir/bench/latency_probe

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
for port in "$pg_port" "$redis_port"; do
  if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "bench: port $port is in use (a server left from an earlier run?); set BENCH_PG_PORT / BENCH_REDIS_PORT" >&2
    exit 1
  fi
done
scripts/local-servers.sh start "$dir/servers" "$pg_port" "$redis_port"
psql -X -q -h "$dir/servers/pg" -p "$pg_port" -U postgres -d postgres \
  -c "CREATE ROLE app LOGIN SUPERUSER PASSWORD 'bench'" -c "CREATE DATABASE app OWNER app"
export PGPASSWORD=bench
conninfo="host=127.0.0.1 port=$pg_port dbname=app user=app"
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
  until grep -q "$1" "$sluice_log"; do
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

big=$((changes * 9 / 10 / txn_rows))
single=$((changes - big * txn_rows))
log "writing $changes changes: $big transactions of $txn_rows rows, $single single-row transactions"
t=$(now)
for ((i = 0; i < big; i++)); do
  first=$(((i * txn_rows) % rows + 1))
  echo "UPDATE bench_rows SET n = n + 1 WHERE id BETWEEN $first AND $((first + txn_rows - 1));"
done | sql >/dev/null
cat >"$dir/single.sql" <<SQL
\set id random(1, $rows)
UPDATE bench_rows SET n = n + 1 WHERE id = :id;
SQL
"$pg_bindir/pgbench" -n -h 127.0.0.1 -p "$pg_port" -U app -c 4 -j 2 -t $((single / 4)) -f "$dir/single.sql" app >/dev/null
single=$((single / 4 * 4))
changes=$((big * txn_rows + single))
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

# ---- report ----
recv_rate=$(rate "$changes" "$recv_seconds")
sluice_rate=$(rate "$changes" "$sluice_seconds")
cat <<REPORT
## Results ($(date -u +%Y-%m-%d), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), PostgreSQL $("$pg_bindir/postgres" --version | awk '{print $3}'), Redis $(redis-server --version | grep -o 'v=[0-9.]*' | cut -c3-))

Command: \`bash bench/run.sh$( ((tiny)) && echo " --tiny")\` (BENCH_CHANGES=$changes BENCH_ROWS=$rows BENCH_SNAPSHOT_ROWS=$snapshot_rows)

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
