#!/usr/bin/env bash
# make test-compose: the compose stack end to end (e2e/), when a Docker engine is usable.
# Without one it is not run: a warning and exit 0 on a developer's machine, an error in CI
# (CI set), where the stack must always be checked.
#   scripts/test-compose.sh [pytest args]      (PYTEST: the pytest to run)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
pytest="${PYTEST:-$root/.venv/bin/pytest}"

if docker compose version >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    cd "$root/e2e"
    exec "$pytest" -p no:randomly -v "$@"
fi
if [ -n "${CI:-}" ]; then
    echo "test-compose: Docker is not usable here and CI must run the compose tests." \
        "Run scripts/ci-docker-setup.sh first (.ci/run does)." >&2
    exit 1
fi
echo "*** test-compose NOT RUN: no usable Docker engine on this machine." \
    "The compose stack is not checked here; CI checks it. ***" >&2
