#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis on loopback for the demo (scripts/demo.sh).
#   scripts/local-servers.sh start DIR PG_PORT REDIS_PORT
#   scripts/local-servers.sh stop DIR
# PostgreSQL runs as an unprivileged user when this runs as root (initdb refuses
# root): the "postgres" system user if present, else "sluice" (created).
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

start() {
  local dir=$1 pg_port=$2 redis_port=$3 bin
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
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "redis-server did not start; see $dir/redis.log" >&2
  return 1
}

stop() {
  local dir=$1 bin
  bin=$(pg_bindir)
  [[ -f "$dir/pg/postmaster.pid" ]] && as_db_user "$bin/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null || true
  [[ -f "$dir/redis.pid" ]] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
}

case "${1:-}" in
  start) start "$2" "$3" "$4" ;;
  stop) stop "$2" ;;
  *) echo "usage: $0 start DIR PG_PORT REDIS_PORT | stop DIR" >&2; exit 2 ;;
esac
