#!/bin/sh
# The test runner's entrypoint (Dockerfile.test): credentials from Compose secrets, then
# pytest, whose pgstack plugin waits for the services (real queries), builds the migrated
# template once and gives each xdist worker its own copy. pytest's exit code is the
# container's. The template build starts beside pytest (below), not before it.
#   entrypoint.sh [pytest args]     the suite (docker compose run --rm tests)
#   entrypoint.sh --stay-up         the devcontainer: no tests, keep running (below)
set -eu

SECRETS_DIR="${SECRETS_DIR:-/run/secrets}"

# Credentials are files under $SECRETS_DIR (docker-compose.test.yml `secrets:`), never part
# of the environment Compose gives the container (`docker inspect` shows that one): they
# reach this process's children only. A DATABASE_URL or JWT_SECRET already set wins (`run -e`).
if [ -z "${DATABASE_URL:-}" ]; then
    if [ ! -r "$SECRETS_DIR/postgres_password" ]; then
        echo "entrypoint: no DATABASE_URL and no $SECRETS_DIR/postgres_password:" \
            "run this image through docker-compose.test.yml (service tests)." >&2
        exit 2
    fi
    # Percent-encoded; the password goes through stdin, never through a command line.
    DATABASE_URL="$(python -c '
import sys
from urllib.parse import quote

user, host, port, database = sys.argv[1:]
password = sys.stdin.read().rstrip("\r\n")
print("postgresql://%s:%s@%s:%s/%s" % (quote(user, ""), quote(password, ""), host, port, database))
' "${POSTGRES_USER:-postgres}" "${POSTGRES_HOST:-db}" "${POSTGRES_PORT:-5432}" \
        "${POSTGRES_DB:-app_test}" <"$SECRETS_DIR/postgres_password")"
    export DATABASE_URL
fi
if [ -z "${JWT_SECRET:-}" ] && [ -r "$SECRETS_DIR/jwt_secret" ]; then
    JWT_SECRET="$(cat "$SECRETS_DIR/jwt_secret")"  # $(…) drops the trailing newline
    export JWT_SECRET
fi

if [ "${1:-}" = "--stay-up" ]; then
    # Devcontainer: shells and pytest runs start later through `docker exec`, which does not
    # inherit this process's environment. So the credentials go to a file on tmpfs, readable
    # by this user only, that PGSTACK_ENV_FILE names (the devcontainer override sets it):
    # .env.test plus the credentials, in a form both python-dotenv and sh read. pytest loads
    # it (pgstack's plugin); interactive bash sources it (~/.bashrc); any other program:
    # `set -a; . "$PGSTACK_ENV_FILE"; set +a` first (postCreateCommand does).
    : "${PGSTACK_ENV_FILE:?the devcontainer override sets PGSTACK_ENV_FILE}"
    umask 077
    {
        grep -Ev '^(DATABASE_URL|POSTGRES_PASSWORD|JWT_SECRET)=' /app/.env.test || true
        printf "DATABASE_URL='%s'\n" "$DATABASE_URL"
        printf "JWT_SECRET='%s'\n" "${JWT_SECRET:-}"
    } >"$PGSTACK_ENV_FILE"
    # shellcheck disable=SC2016 # expanded by bash, later
    line='[ -r "$PGSTACK_ENV_FILE" ] && { set -a; . "$PGSTACK_ENV_FILE"; set +a; }'
    grep -qxF "$line" "$HOME/.bashrc" 2>/dev/null || printf '%s\n' "$line" >>"$HOME/.bashrc" || true
    exec sleep infinity
fi

# WAIT_FOR: space-separated host:port pairs of other services to wait for before pytest.
for target in ${WAIT_FOR:-}; do
    wait-for-it --service "$target" --timeout "${WAIT_TIMEOUT:-60}"
done

# One xdist worker per CPU the container may use: `-n auto` would count the host's CPUs, not
# the service's `cpus:` limit (the CFS quota), and oversubscribe it.
cpu_limit() {  # whole CPUs of the quota, rounded up; nothing when unlimited
    quota='' period=''
    cgroup="${CGROUP_DIR:-/sys/fs/cgroup}"
    if [ -r "$cgroup/cpu.max" ]; then  # cgroup v2: "max 100000" or "200000 100000"
        read -r quota period <"$cgroup/cpu.max"
    elif [ -r "$cgroup/cpu/cpu.cfs_quota_us" ]; then  # cgroup v1: -1 when unlimited
        quota="$(cat "$cgroup/cpu/cpu.cfs_quota_us")"
        period="$(cat "$cgroup/cpu/cpu.cfs_period_us")"
    fi
    case "$quota" in '' | max | -*) return ;; esac
    echo $(((quota + period - 1) / period))
}
cpus="$(cpu_limit)"
workers="${PYTEST_WORKERS:-$cpus}"

# The template build starts now, in the background, while pytest imports the project (a
# `pgstack prepare` first would make pytest wait for it): pytest's pgstack then waits for
# that build's lock and reuses the template, and its header says which run built it. Its
# output is dropped: should it fail, pytest builds the template itself and reports why. Not
# with options that give pytest another template, or none, and not on a single CPU, where
# the two would take turns on it (a cold run was ~0.6 s slower so).
early_template=yes
[ "${cpus:-$(nproc 2>/dev/null || echo 1)}" -ge 2 ] || early_template=no
for arg in "$@"; do
    case "$arg" in --no-pgstack | --ds | --ds=* | --no-migrations | --nomigrations | --create-db)
        early_template=no ;;
    esac
done
if [ "$early_template" = yes ]; then
    # A subshell, so that the build is not pytest's child: init (`init: true`) reaps it.
    (python -m pgstack.cli prepare >/dev/null 2>&1 &)
fi

# pytest, minus the interpreter's teardown at the end (pytest-then-exit.py).
exec python /app/.pgstack/pytest-then-exit.py -n "${workers:-auto}" "$@"
