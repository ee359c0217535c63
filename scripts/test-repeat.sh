#!/usr/bin/env bash
# make test-repeat: the backend suite COUNT times, each run in a new random order
# (pytest-randomly with a fresh seed) on 2 xdist workers, to catch tests that depend on
# order or on each other. The first failing run stops it: its output, then the command
# that replays the same order. Exit status 0 only when every run passed.
#   scripts/test-repeat.sh COUNT [pytest args]      (PYTEST: the pytest to run)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
count="${1:?usage: scripts/test-repeat.sh COUNT [pytest args]}"
shift
pytest="${PYTEST:-$root/.venv/bin/pytest}"
log="$root/.repeat-last.log"  # the current run's output; kept when it fails

cd "$root/backend"
for run in $(seq 1 "$count"); do
    seed=$(((RANDOM << 15) | RANDOM))  # 30 bits: one $RANDOM gives 15
    printf 'test-repeat: run %2d/%d, --randomly-seed=%s: ' "$run" "$count" "$seed"
    if ! "$pytest" -n 2 -p randomly -p no:cacheprovider -q --randomly-seed="$seed" "$@" \
        >"$log" 2>&1; then
        echo FAILED
        cat "$log"
        # The order depends on which tests are collected: the replay keeps the same arguments.
        echo "test-repeat: reproduce with:" \
            "make test PYTEST_ARGS='-p randomly --randomly-seed=$seed${*:+ $*}' WORKERS=2"
        exit 1
    fi
    tail -n 1 "$log"  # pytest's summary line
done
rm -f "$log"
