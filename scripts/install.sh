#!/usr/bin/env bash
# install.sh VENV PIP-ARGS...: create VENV when it has no python, then install PIP-ARGS into
# it. With uv a fresh venv takes seconds instead of pip's ~40 s: the uv on PATH, else a pinned
# one installed once into the user's cache folder (shared by every clone). pip is the
# fallback when uv cannot be had, and what INSTALLER=pip asks for: uv does not read pip.conf
# (give a private index to uv with UV_INDEX_URL / UV_EXTRA_INDEX_URL, or use INSTALLER=pip).
set -euo pipefail
venv=$1
shift
python=${PYTHON:-python3}
UV_VERSION=0.13.9

find_uv() {
    [[ ${INSTALLER:-uv} == pip ]] && return 1
    command -v uv && return 0
    local tools="${XDG_CACHE_HOME:-$HOME/.cache}/pgstack-dev/uv-$UV_VERSION"
    if [[ ! -x $tools/bin/uv ]]; then
        echo "install: bootstrapping uv $UV_VERSION into $tools (once; INSTALLER=pip skips uv)" >&2
        mkdir -p "$(dirname "$tools")"
        # Built aside and moved in whole, so two makes at once never see half a uv.
        local building
        building="$(mktemp -d "$tools.XXXXXX")"
        if ! { "$python" -m venv "$building" && "$building/bin/python" -m pip install --quiet \
            --disable-pip-version-check "uv==$UV_VERSION"; } >&2; then
            rm -rf "$building"
            echo "install: uv could not be installed; using pip" >&2
            return 1
        fi
        mv -T "$building" "$tools" 2>/dev/null || rm -rf "$building"
    fi
    echo "$tools/bin/uv"
}

if uv="$(find_uv)"; then
    [[ -x $venv/bin/python ]] || "$uv" venv --quiet --allow-existing --python "$python" "$venv"
    # Where PYTHONDONTWRITEBYTECODE is set (CI, containers) Python never caches bytecode, so
    # every process compiles every module it imports from source again (half the CPU of a
    # run's start-up): compile it all now. Elsewhere the first import of each module writes
    # its bytecode, which costs less than compiling every installed file up front.
    exec "$uv" pip install --quiet ${PYTHONDONTWRITEBYTECODE:+--compile-bytecode} \
        --python "$venv/bin/python" "$@"
fi
[[ -x $venv/bin/python ]] || "$python" -m venv "$venv"
# A venv that uv made has no pip of its own.
"$venv/bin/python" -m pip --version >/dev/null 2>&1 || "$venv/bin/python" -m ensurepip --quiet
exec "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
