#!/usr/bin/env bash
# The cost in Redis of the sink scripts' position compare (src/sink/redis/lua/
# position_order.lua, pos_cmp): a million compares in one EVAL, against a loop
# that only builds the same strings (the floor), for positions that differ in
# their LSN and positions that differ only in their index. docs/benchmarks.md
# (A/B: the house) quotes it. Starts a throwaway redis-server on 127.0.0.1.
#   bash bench/tools/lua_pos_cmp.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
port=${BENCH_LUA_PORT:-26399}
dir=$(mktemp -d /tmp/sluice-luacmp-XXXXXX)
redis-server --port "$port" --bind 127.0.0.1 --save '' --dir "$dir" --daemonize yes --pidfile "$dir/pid" >/dev/null
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
compare='s = s + pos_cmp(a, b)'
floor='s = s + #b'
lsn="local b = string.format('00000016B3%06X:%08X', i, 1)"
index="local b = string.format('00000016B374D848:%08X', i % 5000 + 2)"
run() {  # $1 label, $2 the line building b, $3 the work on it
  printf '%s\nlocal a = "00000016B374D848:00000001"\nlocal s = 0\nfor i = 1, 1000000 do\n  %s\n  %s\nend\nreturn s\n' \
    "$(cat src/sink/redis/lua/position_order.lua)" "$2" "$3" >"$dir/run.lua"
  local start end
  start=$(date +%s.%N)
  redis-cli -p "$port" --eval "$dir/run.lua" >/dev/null
  end=$(date +%s.%N)
  printf '%-40s %.3f s\n' "$1" "$(echo "$end - $start" | bc)"
}
run "floor, LSN differs (strings only)" "$lsn" "$floor"
run "pos_cmp, LSN differs" "$lsn" "$compare"
run "floor, index differs (strings only)" "$index" "$floor"
run "pos_cmp, index differs" "$index" "$compare"
