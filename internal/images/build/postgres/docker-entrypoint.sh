#!/bin/bash
# A trimmed docker-entrypoint.sh with the official image's contract:
# POSTGRES_USER, POSTGRES_DB, POSTGRES_PASSWORD_FILE (preferred) or
# POSTGRES_PASSWORD, PGDATA; initialises an empty data directory once, then
# execs postgres as PID 1. It runs as the postgres user: never as root.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi

if [ "$1" = 'postgres' ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
	: "${POSTGRES_USER:=postgres}"
	: "${POSTGRES_DB:=$POSTGRES_USER}"
	if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
		POSTGRES_PASSWORD="$(< "$POSTGRES_PASSWORD_FILE")"
	fi
	if [ -z "${POSTGRES_PASSWORD:-}" ]; then
		echo >&2 "error: database is uninitialized and no password is set: set POSTGRES_PASSWORD_FILE"
		exit 1
	fi
	chmod 0700 "$PGDATA" 2>/dev/null || true
	pwfile="$(mktemp /tmp/pgpw.XXXXXX)"
	printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
	initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
		--auth-host=scram-sha-256 --encoding=UTF8 -D "$PGDATA" >/dev/null
	rm -f "$pwfile"
	unset POSTGRES_PASSWORD
	echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
	echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
	if [ "$POSTGRES_DB" != 'postgres' ]; then
		pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
		psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
			-c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null
		pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
	fi
	echo "PostgreSQL init process complete; ready for start up."
fi

exec "$@"
