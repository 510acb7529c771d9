#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a loopback port, for the tests and the benchmarks.
#   scripts/pg-cluster.sh start [PORT]   prints "dir=<dir> port=<port> url=<url>" (PORT: a free one)
#   scripts/pg-cluster.sh restart DIR    restarts the cluster of DIR (chaos tests), waits until up
#   scripts/pg-cluster.sh stop DIR       stops it and deletes DIR
# Installs Debian's postgresql when missing and we are root (as test.sh does for chromium).
# initdb refuses to run as root, so as root the server runs as the `postgres` system user.
set -euo pipefail

find_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  command -v pg_ctl >/dev/null && { dirname "$(command -v pg_ctl)"; return 0; }
  return 1
}

ensure_installed() {
  find_bin >/dev/null && return 0
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "== installing postgresql (apt-get) for the PostgreSQL tests" >&2
    # Debian's package would start and enable its own cluster on 5432; we only want the binaries
    # (a policy-rc.d that is already there stays as it was).
    local policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      policy=/usr/sbin/policy-rc.d
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
    fi
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || true
    [ -n "$policy" ] && rm -f "$policy"
    find_bin >/dev/null && return 0
  fi
  echo "PostgreSQL is required for the PostgreSQL tests. Install it with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y postgresql" >&2
  return 1
}

# Runs a PostgreSQL binary as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = "0" ]; then
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

cmd=${1:-}
case "$cmd" in
  start)
    ensure_installed
    bin=$(find_bin)
    port=${2:-$(free_port)}
    dir=$(mktemp -d "${TMPDIR:-/tmp}/portico-pg.XXXXXX")
    [ "$(id -u)" = "0" ] && chown postgres "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    # The socket lives in DIR (no /var/run/postgresql needed); TCP only on loopback.
    opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300"
    if [ -n "${PORTICO_PG_OPTS:-}" ]; then opts="$opts $PORTICO_PG_OPTS"; fi
    echo "$opts" >"$dir/opts"
    as_owner "$bin/pg_ctl" -D "$dir/data" -o "$opts" -l "$dir/log" -w -t 60 start >/dev/null ||
      { cat "$dir/log" >&2; exit 1; }
    echo "dir=$dir port=$port url=postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  restart)
    dir=${2:?usage: pg-cluster.sh restart DIR}
    bin=$(find_bin)
    as_owner "$bin/pg_ctl" -D "$dir/data" -o "$(cat "$dir/opts")" -l "$dir/log" -m fast -w -t 60 restart >/dev/null
    ;;
  stop)
    dir=${2:?usage: pg-cluster.sh stop DIR}
    bin=$(find_bin)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: scripts/pg-cluster.sh start [PORT] | restart DIR | stop DIR" >&2
    exit 2
    ;;
esac
