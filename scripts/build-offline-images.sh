#!/usr/bin/env bash
# Build stand-ins for the stack's three base images (postgres, redis, python) from Debian
# packages, for machines that reach no container registry (air-gapped CI, our sandboxes):
# debootstrap a minimal Debian → `docker import` → `docker build` on top.
# Prints the POSTGRES_IMAGE=… REDIS_IMAGE=… PYTHON_IMAGE=… line to use.
# Needs root (debootstrap), docker, debootstrap. Reuses images that already exist.
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE="${SUITE:-bookworm}"
PREFIX="${PREFIX:-pgstack-offline}"
BASE="$PREFIX/debian:$SUITE"
POSTGRES="$PREFIX/postgres:15"
REDIS="$PREFIX/redis:7"
PYTHON="$PREFIX/python:3.11"

have() { docker image inspect "$1" >/dev/null 2>&1; }
log() { echo "build-offline-images: $*" >&2; }

if ! command -v debootstrap >/dev/null && ! have "$BASE"; then
    echo "build-offline-images: debootstrap is missing: apt-get install -y debootstrap" >&2
    exit 2
fi

if ! have "$BASE"; then
    rootfs="$(mktemp -d)"
    trap 'rm -rf "$rootfs"' EXIT
    log "debootstrap $SUITE (about 30 s)"
    debootstrap --variant=minbase "$SUITE" "$rootfs" >/dev/null
    tar -C "$rootfs" -c . | docker import - "$BASE" >/dev/null
fi

# The python stand-in trusts this machine's CA bundle (see docker/offline/python.Dockerfile).
HOST_CA="${HOST_CA:-/etc/ssl/certs/ca-certificates.crt}"
cp "$HOST_CA" docker/offline/host-ca.crt

build() {  # image dockerfile
    if have "$1" && [ -z "${REBUILD:-}" ]; then
        log "reusing $1"
        return
    fi
    log "building $1"
    # The classic builder: the docker CLI's BuildKit needs the buildx plugin, which these
    # machines lack (compose builds the runner with BuildKit on its own).
    out="$(mktemp)"
    if ! DOCKER_BUILDKIT=0 docker build --build-arg BASE_IMAGE="$BASE" \
        -t "$1" -f "docker/offline/$2" docker/offline >"$out" 2>&1; then
        cat "$out" >&2
        log "building $1 failed (output above)"
        exit 1
    fi
    rm -f "$out"
}
build "$POSTGRES" postgres.Dockerfile
build "$REDIS" redis.Dockerfile
build "$PYTHON" python.Dockerfile

echo "POSTGRES_IMAGE=$POSTGRES REDIS_IMAGE=$REDIS PYTHON_IMAGE=$PYTHON"
