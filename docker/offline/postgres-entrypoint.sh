#!/bin/bash
# Minimal re-implementation of the official postgres image's entrypoint contract.
set -Eeuo pipefail

# file_env VAR [DEFAULT]: VAR from the file named by VAR_FILE (Docker/Compose secrets), like
# the official image: setting both is an error; trailing newlines are dropped. Read here, as
# root, before the switch to postgres: a secret file need not be readable by that user.
file_env() {
    local var="$1" file_var="${1}_FILE" default="${2:-}"
    if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
        echo "error: both $var and $file_var are set (but are exclusive)" >&2
        exit 1
    fi
    local value="$default"
    if [ -n "${!var:-}" ]; then
        value="${!var}"
    elif [ -n "${!file_var:-}" ]; then
        value="$(< "${!file_var}")"
    fi
    export "$var"="$value"
    unset "$file_var"
}

if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi

if [ "$1" = 'postgres' ]; then
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
fi

if [ "$1" = 'postgres' ] && [ "$(id -u)" = '0' ]; then
    mkdir -p "$PGDATA"
    chmod 00700 "$PGDATA"
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    # setpriv replaces this process, as gosu does in the official image (runuser would stay
    # behind as PID 1 with the environment above, password included).
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$0" "$@"
fi

if [ "$1" = 'postgres' ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE must be set}"
    user="$POSTGRES_USER"
    db="$POSTGRES_DB"
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 --no-instructions -D "$PGDATA" >/dev/null
    rm -f "$pwfile"
    printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
    # Temporary server on the socket only: nobody can connect over TCP before init is done.
    pg_ctl -D "$PGDATA" -w -o "$(printf '%q ' "${@:2}") -c listen_addresses=''" start >/dev/null
    if [ "$db" != 'postgres' ]; then
        psql -v ON_ERROR_STOP=1 --username "$user" --dbname postgres \
            -c "CREATE DATABASE \"$db\"" >/dev/null
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sql) echo "running $f"; psql -v ON_ERROR_STOP=1 --username "$user" --dbname "$db" -f "$f" ;;
            *.sh) echo "running $f"; . "$f" ;;
            *) ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "PostgreSQL init process complete; ready for start up."
fi

# The server needs none of these: keep the password out of its process environment.
unset POSTGRES_PASSWORD
exec "$@"
