#!/usr/bin/env bash
# Build stand-ins for the stack's three base images (postgres, redis, python) from Debian
# packages, for machines that reach no container registry (air-gapped CI, our sandboxes):
# debootstrap a minimal Debian → `docker import` → `docker build` on top.
# Prints the POSTGRES_IMAGE=… REDIS_IMAGE=… PYTHON_IMAGE=… line to use.
# Needs root (debootstrap), docker, debootstrap. Reuses images built from the same inputs.
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

# An image is reused only while it was built from the same inputs: its Dockerfile and the
# files that Dockerfile COPYs, hashed into a label. An edited entrypoint rebuilds its image.
inputs_hash() {  # dockerfile
    local dockerfile="docker/offline/$1"
    {
        cat "$dockerfile"
        awk '$1 == "COPY" { for (i = 2; i < NF; i++) if ($i !~ /^--/) print $i }' "$dockerfile" |
            while read -r source; do cat "docker/offline/$source"; done
    } | sha256sum | cut -c1-16
}
built_from() {  # image: the inputs hash it was built from
    docker image inspect -f '{{ index .Config.Labels "pgstack.offline.inputs" }}' "$1" 2>/dev/null
}

build() {  # image dockerfile
    local hash
    hash="$(inputs_hash "$2")"
    if have "$1" && [ -z "${REBUILD:-}" ] && [ "$(built_from "$1")" = "$hash" ]; then
        log "reusing $1"
        return
    fi
    log "building $1"
    # The classic builder: the docker CLI's BuildKit needs the buildx plugin, which these
    # machines lack (compose builds the runner with BuildKit on its own).
    out="$(mktemp)"
    if ! DOCKER_BUILDKIT=0 docker build --build-arg BASE_IMAGE="$BASE" \
        --label "pgstack.offline.inputs=$hash" -t "$1" -f "docker/offline/$2" docker/offline >"$out" 2>&1; then
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
