#!/usr/bin/env bash
# The compose template on each example, measured: what `pgstack init --compose` detected, the
# files it wrote (lines), the image build without cache, then `run --rm tests` cold (a fresh
# stack: the db container's first start) and warm (again, the db still up), wall time and
# pass count. Prints a Markdown table. Needs Docker (and the images of POSTGRES_IMAGE,
# REDIS_IMAGE, PYTHON_IMAGE, as make test-compose does).
#   scripts/compose-template-figures.sh [example ...]     (default: every examples/*/)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.venv/bin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin/python" -m build --wheel --outdir "$work/wheel" "$root/pgstack" >/dev/null 2>&1
examples=("$@")
[ ${#examples[@]} -gt 0 ] || mapfile -t examples < <(cd "$root/examples" && ls -d */ | tr -d /)

seconds() { local start=$1; echo "$(date +%s.%N) - $start" | bc | xargs printf '%.1f'; }
passed() { grep -Eo '[0-9]+ passed' "$1" | tail -1; }

echo "| example | detected | files (lines) | build, no cache | cold run | warm run |"
echo "|---|---|---|---|---|---|"
for example in "${examples[@]}"; do
    project="$work/$example"
    cp -r "$root/examples/$example" "$project" && rm -rf "$project/.venv"
    mkdir "$project/vendor" && cp "$work"/wheel/*.whl "$project/vendor/"
    before="$(cd "$project" && find . -type f | sort)"
    (cd "$project" && "$bin/pgstack" init --compose --data local_wheels=vendor) >"$work/init.log"
    detected="$(grep -E '^  (install|migrator|migrations_dir|redis) ' "$work/init.log" \
        | awk '{print $1"="$2}' | tr -d "':" | paste -sd ' ')"
    written="$(cd "$project" && comm -13 <(echo "$before") <(find . -type f | sort))"
    lines="$(cd "$project" && echo "$written" | xargs cat | wc -l)"
    count="$(echo "$written" | wc -l)"
    name="figures-$example"
    compose=(docker compose -p "$name" -f "$project/docker-compose.test.yml")
    start=$(date +%s.%N); "${compose[@]}" build --no-cache tests >"$work/build.log" 2>&1; build=$(seconds "$start")
    start=$(date +%s.%N); "${compose[@]}" run --rm tests >"$work/cold.log" 2>&1; cold=$(seconds "$start")
    start=$(date +%s.%N); "${compose[@]}" run --rm tests >"$work/warm.log" 2>&1; warm=$(seconds "$start")
    "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1
    echo "| $example | $detected | $count ($lines) | ${build} s | ${cold} s, $(passed "$work/cold.log") | ${warm} s, $(passed "$work/warm.log") |"
done
