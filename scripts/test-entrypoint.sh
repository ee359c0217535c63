#!/bin/sh
# Test-runner entrypoint: TCP phase with wait-for-it, then pgstack's query-level readiness
# and template build, then pytest. pytest's exit code is the container's exit code.
set -eu

# WAIT_FOR: space-separated host:port pairs (set by docker-compose.test.yml).
for target in ${WAIT_FOR:-}; do
    wait-for-it --service "$target" --timeout "${WAIT_TIMEOUT:-60}"
done

pgstack prepare
exec pytest -n "${PYTEST_WORKERS:-auto}" "$@"
