#!/usr/bin/env bash
# A throw-away PostgreSQL cluster on loopback, for the tests and the
# benchmarks: Debian's PostgreSQL (installed by install-test-deps.sh), a
# data directory of its own, trust authentication for its one user
# `clubhall` on 127.0.0.1 only, and no other listener.
#
#   scripts/pg-cluster.sh start DIR PORT [fast]   starts it (a new one if DIR is empty)
#   scripts/pg-cluster.sh stop DIR                stops it; DIR can then be deleted
#
# `fast` turns fsync off: for tests, which never survive a power cut of the
# machine anyway. Benchmarks run it with fsync, as a club would.
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ]; then
  echo "PostgreSQL is not installed (scripts/install-test-deps.sh installs it)" >&2
  exit 1
fi

# PostgreSQL refuses to run as root: as root, the cluster runs as the
# package's `postgres` account.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cmd=${1:-}
dir=${2:-}
[ -n "$dir" ] || { echo "usage: $0 start DIR PORT [fast] | stop DIR" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

case "$cmd" in
  start)
    port=${3:?a port}
    if [ ! -f "$dir/PG_VERSION" ]; then
      if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
      as_owner "$bin/initdb" -D "$dir" -U clubhall --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    fsync=on
    if [ "${4:-}" = fast ]; then fsync=off; fi
    as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start -o \
      "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir' \
       -c fsync=$fsync -c max_connections=300 -c shared_buffers=128MB" >/dev/null
    ;;
  stop)
    if [ -f "$dir/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir" -w -t 60 -m fast stop >/dev/null
    fi
    ;;
  *)
    echo "usage: $0 start DIR PORT [fast] | stop DIR" >&2
    exit 2
    ;;
esac
