#!/usr/bin/env bash
# Throwaway PostgreSQL, Redis and (optionally) a Sphinx searchd on loopback for
# the demo (scripts/demo.sh) and the benchmarks.
#   scripts/local-servers.sh start DIR PG_PORT REDIS_PORT [SEARCH_PORT]
#   scripts/local-servers.sh restart-search DIR SEARCH_PORT
#   scripts/local-servers.sh stop DIR
# PostgreSQL runs as an unprivileged user when this runs as root (initdb refuses
# root): the "postgres" system user if present, else "sluice" (created).
# With SEARCH_PORT, searchd (Debian's sphinxsearch, Sphinx 2.2) listens for
# SphinxQL on 127.0.0.1:SEARCH_PORT, with its config, binlog, pid file, logs and
# indexes in DIR/search. Its sphinx.conf holds a placeholder RT index (searchd
# serves nothing without one) and the index blocks in DIR/search/indexes.conf,
# if that file exists; after writing it, run restart-search. searchd runs as
# whoever runs this, root included.
set -euo pipefail

pg_bindir() {
  if [[ -n "${SLUICE_PG_BINDIR:-}" ]]; then echo "$SLUICE_PG_BINDIR"; return; fi
  ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1
}

as_db_user() {
  if [[ $(id -u) -ne 0 ]]; then "$@"; return; fi
  local user=postgres
  id -u "$user" >/dev/null 2>&1 || { id -u sluice >/dev/null 2>&1 || useradd --system --no-create-home sluice; user=sluice; }
  runuser -u "$user" -- "$@"
}

db_user() {
  if [[ $(id -u) -ne 0 ]]; then id -un; elif id -u postgres >/dev/null 2>&1; then echo postgres; else echo sluice; fi
}

# The MySQL-protocol client that talks SphinxQL (mariadb-client-core).
sphinxql_client() {
  command -v mariadb || command -v mysql || {
    echo "no mariadb (or mysql) client on PATH (scripts/install-deps.sh installs mariadb-client-core)" >&2
    return 1
  }
}

write_sphinx_conf() {
  local s=$1 port=$2
  {
    echo "# written by scripts/local-servers.sh"
    echo "index local_placeholder"
    printf '{\n\ttype = rt\n\tpath = %s/local_placeholder\n\trt_field = text\n\trt_attr_uint = n\n}\n' "$s"
    [[ -f "$s/indexes.conf" ]] && cat "$s/indexes.conf"
    printf 'searchd\n{\n'
    printf '\tlisten = 127.0.0.1:%s:mysql41\n' "$port"
    printf '\tworkers = threads\n'
    printf '\twatchdog = 0\n'
    printf '\tbinlog_path = %s\n' "$s"
    printf '\tbinlog_flush = 2\n'
    printf '\tpid_file = %s/searchd.pid\n' "$s"
    printf '\tlog = %s/searchd.log\n' "$s"
    printf '\tquery_log = %s/query.log\n' "$s"
    printf '}\n'
  } >"$s/sphinx.conf"
}

start_search() {
  local dir=$1 port=$2 s=$1/search searchd client pid
  searchd=$(command -v searchd) || {
    echo "searchd not found on PATH (scripts/install-deps.sh installs sphinxsearch)" >&2
    return 1
  }
  client=$(sphinxql_client)
  mkdir -p "$s"
  write_sphinx_conf "$s" "$port"
  # Its own session: a ^C meant for the caller does not reach it before stop.
  setsid "$searchd" --config "$s/sphinx.conf" --nodetach </dev/null >"$s/console.log" 2>&1 &
  pid=$!
  echo "$pid" >"$s/searchd.child.pid"
  for _ in $(seq 150); do
    "$client" -h 127.0.0.1 -P "$port" --protocol=tcp --connect-timeout=2 -e "SHOW TABLES" >/dev/null 2>&1 && return 0
    if ! kill -0 "$pid" 2>/dev/null || grep -q "bind() failed" "$s/console.log"; then break; fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null || true
  echo "searchd did not start on 127.0.0.1:$port; its output ($s/console.log, $s/searchd.log):" >&2
  tail -n 20 "$s/console.log" "$s/searchd.log" >&2 2>/dev/null || true
  return 1
}

stop_search() {
  local s=$1/search pid
  [[ -f "$s/searchd.child.pid" ]] || return 0
  pid=$(cat "$s/searchd.child.pid")
  rm -f "$s/searchd.child.pid"
  kill "$pid" 2>/dev/null || return 0
  # SIGTERM: searchd flushes its RT indexes and binlog, then exits. Wait, so that
  # a restart finds the port free.
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  echo "searchd (pid $pid) ignored SIGTERM for 10 s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

start() {
  local dir=$1 pg_port=$2 redis_port=$3 search_port=${4:-} bin
  bin=$(pg_bindir)
  mkdir -p "$dir"
  chmod 755 "$dir"
  if [[ ! -f "$dir/pg/PG_VERSION" ]]; then
    mkdir -p "$dir/pg"
    [[ $(id -u) -eq 0 ]] && chown "$(db_user)" "$dir/pg"
    chmod 700 "$dir/pg"
    as_db_user "$bin/initdb" -D "$dir/pg" -U postgres -A trust --no-sync >/dev/null
    cat >>"$dir/pg/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$dir/pg'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
fsync = off
timezone = 'UTC'
CONF
  fi
  as_db_user "$bin/pg_ctl" -D "$dir/pg" -l "$dir/pg/server.log" -w start >/dev/null
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  local up=""
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && { up=1; break; }; sleep 0.1; done
  [[ -n "$up" ]] || { echo "redis-server did not start; see $dir/redis.log" >&2; return 1; }
  [[ -z "$search_port" ]] || start_search "$dir" "$search_port"
}

stop() {
  local dir=$1 bin
  bin=$(pg_bindir)
  [[ -f "$dir/pg/postmaster.pid" ]] && as_db_user "$bin/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null || true
  [[ -f "$dir/redis.pid" ]] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  stop_search "$dir"
}

usage() {
  echo "usage: $0 start DIR PG_PORT REDIS_PORT [SEARCH_PORT] | restart-search DIR SEARCH_PORT | stop DIR" >&2
  exit 2
}

case "${1:-}" in
  start) (($# == 4 || $# == 5)) || usage; start "${@:2}" ;;
  restart-search) (($# == 3)) || usage; stop_search "$2"; start_search "$2" "$3" ;;
  stop) (($# == 2)) || usage; stop "$2" ;;
  *) usage ;;
esac
