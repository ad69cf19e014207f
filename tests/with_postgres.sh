#!/usr/bin/env bash
# Runs "$@" with FRONTLINE_TEST_POSTGRES_URL pointing at a throwaway PostgreSQL cluster on loopback.
# The cluster lives in a temporary folder and is removed afterwards, so it never touches a system
# cluster. Without PostgreSQL installed, the PostgreSQL tests are skipped (or fail, under CI).
set -euo pipefail

if [ -n "${FRONTLINE_TEST_POSTGRES_URL:-}" ]; then
  exec "$@"
fi

pg_bin=""
if command -v initdb >/dev/null 2>&1; then
  pg_bin=$(dirname "$(readlink -f "$(command -v initdb)")")
else
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
fi
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "with_postgres: PostgreSQL is not installed but CI needs it (apt-get install postgresql)" >&2
    exit 1
  fi
  echo "with_postgres: PostgreSQL not installed: its tests will be skipped (apt-get install postgresql to run them)" >&2
  exec "$@"
fi

data_dir=$(mktemp -d /tmp/frontline-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
as_pg() {
  if [ "$(id -u)" = "0" ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}
[ "$(id -u)" = "0" ] && chown postgres "$data_dir"
cleanup() {
  as_pg "'$pg_bin/pg_ctl' -D '$data_dir/db' -m immediate stop" >/dev/null 2>&1 || true
  rm -rf "$data_dir"
}
trap cleanup EXIT

as_pg "'$pg_bin/initdb' -D '$data_dir/db' -U frontline --auth=trust -E UTF8 --locale=C.UTF-8" >"$data_dir/initdb.log" 2>&1 \
  || { cat "$data_dir/initdb.log" >&2; exit 1; }
# fsync off: a throwaway test cluster does not need crash safety, and it makes DDL far faster.
as_pg "'$pg_bin/pg_ctl' -D '$data_dir/db' -l '$data_dir/server.log' -w -o \"-p $port -h 127.0.0.1 -k '$data_dir' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300\" start" >/dev/null \
  || { cat "$data_dir/server.log" >&2; exit 1; }

export FRONTLINE_TEST_POSTGRES_URL="postgresql+psycopg://frontline@127.0.0.1:$port/postgres"
echo "with_postgres: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
set +e
"$@"
status=$?
exit $status
