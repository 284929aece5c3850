#!/usr/bin/env bash
# Starts a throwaway PostgreSQL on loopback (no systemd) and prints its URL. Used by .ci/run and by
# developers who want the PostgreSQL half of the suite: `export TEST_DATABASE_URL=$(.ci/pg-start.sh)`.
set -euo pipefail
PGPORT=${PGPORT:-54329}
PGDIR=${PGDIR:-/tmp/crawlswarm-pg}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
if [ "$(id -u)" = 0 ]; then as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { "$@"; }; fi
if [ -f "$PGDIR/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" status >/dev/null 2>&1; then
  echo "postgres://postgres@127.0.0.1:$PGPORT/postgres"; exit 0
fi
rm -rf "$PGDIR"; mkdir -p "$PGDIR"
[ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDIR"
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDIR -c fsync=off -c max_connections=300" start >/dev/null
echo "postgres://postgres@127.0.0.1:$PGPORT/postgres"
