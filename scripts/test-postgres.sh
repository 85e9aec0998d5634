#!/usr/bin/env bash
# A throwaway PostgreSQL 15 on 127.0.0.1:55432 for the demo services'
# integration tests (PG_TEST_DSN). `start` prints the DSN; `stop` removes it.
# Installs Debian's postgresql-15 when missing. Needs root (runs the server
# as the postgres user).
set -euo pipefail
port=55432
dir=/tmp/berth-test-postgres
bin=/usr/lib/postgresql/15/bin
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

case "${1:-}" in
start)
	if [ ! -x "$bin/initdb" ]; then
		echo "test-postgres: installing postgresql-15" >&2
		as_root apt-get update -qq >&2
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >&2
	fi
	as_root rm -rf "$dir"
	as_root install -d -o postgres -g postgres -m 0700 "$dir"
	pw=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
	printf '%s' "$pw" | as_root tee "$dir.pw" >/dev/null
	as_root chown postgres "$dir.pw"
	pg() { as_root runuser -u postgres -- "$@"; }
	pg "$bin/initdb" -D "$dir/data" -U shop --pwfile="$dir.pw" -A scram-sha-256 >/dev/null
	pg "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c listen_addresses=127.0.0.1" -l "$dir/log" -w start >/dev/null
	PGPASSWORD="$pw" "$bin/createdb" -h 127.0.0.1 -p "$port" -U shop shop </dev/null
	echo "postgres://shop:$pw@127.0.0.1:$port/shop?sslmode=disable"
	;;
stop)
	if [ -d "$dir/data" ]; then
		as_root runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	as_root rm -rf "$dir" "$dir.pw"
	;;
*)
	echo "usage: $0 start|stop" >&2
	exit 2
	;;
esac
