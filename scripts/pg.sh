#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and benchmarks: a cluster in a temporary folder,
# owned by an unprivileged user, listening on 127.0.0.1 only, on a free port.
#
#   eval "$(scripts/pg.sh start)"   # exports DISCVAULT_TEST_POSTGRES (an admin URL) and PG_DIR
#   scripts/pg.sh stop "$PG_DIR"
#
# PG_OPTS adds server settings (benchmarks: PG_OPTS="-c shared_buffers=4GB").
#
# Needs Debian's postgresql package (initdb, pg_ctl from /usr/lib/postgresql/*/bin).
set -euo pipefail

bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }

# Commands run as this user: PostgreSQL refuses to run as root.
as_user() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
  else
    "$@"
  fi
}

case "${1:-}" in
  start)
    dir="$(mktemp -d /tmp/discvault-pg.XXXXXX)"
    chmod 755 "$dir"
    [ "$(id -u)" = 0 ] && chown nobody:nogroup "$dir"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    as_user "$bin/initdb" -D "$dir/data" -U discvault --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    # Tests make a database per vault: many connections, little memory each; fsync off (a
    # throwaway cluster: a crash loses nothing we keep).
    as_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=64MB ${PG_OPTS:-}" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "export PG_DIR=$dir"
    echo "export DISCVAULT_TEST_POSTGRES=postgres://discvault@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir="${2:?give the folder printed by start}"
    as_user "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
