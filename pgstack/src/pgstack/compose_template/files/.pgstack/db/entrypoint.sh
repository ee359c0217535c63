#!/bin/bash
# The db image's entrypoint (.pgstack/db/Dockerfile), in front of the postgres image's own.
#   pgstack-db-entrypoint.sh --seed        at build time: initdb the seed cluster
#   pgstack-db-entrypoint.sh postgres ...  at start: seed → $PGDATA, password, then the
#                                          image's docker-entrypoint.sh postgres ...
# The seed is used only for the user and database it was made with, a non-empty password,
# and an empty $PGDATA; otherwise the image's entrypoint initialises the cluster as usual.
set -Eeuo pipefail

SEED=/var/lib/postgresql/seed
: "${PGDATA:=/var/lib/postgresql/data}"

as_postgres() {  # the image's tool for it: gosu (official image) or setpriv (util-linux)
    if command -v gosu >/dev/null; then
        gosu postgres "$@"
    else
        setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
    fi
}

if [ "${1:-}" = --seed ]; then
    mkdir -p "$SEED"
    chown postgres:postgres "$SEED"
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of arguments
    as_postgres initdb --username="$POSTGRES_USER" --auth-local=trust \
        --auth-host=scram-sha-256 $POSTGRES_INITDB_ARGS --no-instructions -D "$SEED/data" >/dev/null
    # As the official image does: password logins from anywhere (the network is the stack's).
    printf 'host all all all scram-sha-256\n' >>"$SEED/data/pg_hba.conf"
    if [ "$POSTGRES_DB" != postgres ]; then
        printf 'CREATE DATABASE "%s"\n' "${POSTGRES_DB//\"/\"\"}" |
            as_postgres postgres --single -D "$SEED/data" postgres >/dev/null
    fi
    printf '%s\n%s\n' "$POSTGRES_USER" "$POSTGRES_DB" >"$SEED/identity"
    exit 0
fi

secret() {  # VAR: its value, or the content of the file VAR_FILE names (as the image reads it)
    local file_var="${1}_FILE"
    if [ -n "${!file_var:-}" ] && [ -r "${!file_var}" ]; then
        printf '%s' "$(<"${!file_var}")"
    else
        printf '%s' "${!1:-}"
    fi
}

if [ "${1:-}" = postgres ] && [ "$(id -u)" = 0 ] && [ ! -s "$PGDATA/PG_VERSION" ] &&
    [ -s "$SEED/identity" ]; then
    user="$(secret POSTGRES_USER)"
    db="$(secret POSTGRES_DB)"
    password="$(secret POSTGRES_PASSWORD)"
    if [ "$(cat "$SEED/identity")" = "${user:-postgres}"$'\n'"${db:-${user:-postgres}}" ] &&
        [ -n "$password" ]; then
        mkdir -p "$PGDATA"
        cp -a "$SEED/data/." "$PGDATA/"
        chown postgres:postgres "$PGDATA"
        chmod 0700 "$PGDATA"
        # Single-user mode: nobody can connect before the password is set. The statement goes
        # through stdin, never a command line, and no error message repeats it.
        printf "ALTER ROLE \"%s\" PASSWORD '%s'\n" "${user//\"/\"\"}" "${password//\'/\'\'}" |
            as_postgres postgres --single -D "$PGDATA" -c log_min_error_statement=panic -c log_checkpoints=off \
                postgres >/dev/null
        unset password
    fi
fi

exec docker-entrypoint.sh "$@"
