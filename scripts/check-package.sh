#!/usr/bin/env bash
# Build pgstack's sdist and wheel, check them as a package index would, and run the smoke
# suite (pgstack/smoke) against the installed wheel in a clean virtualenv outside the
# checkout: first without SQLAlchemy (the psycopg fixtures, the CLI, the extra's error),
# then with it (db_session). Usage: scripts/check-package.sh [python with build and twine]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools_python=${1:-$root/.venv/bin/python}  # has the pinned build and twine
constraints=$root/requirements-dev.txt     # the tested versions of pgstack's dependencies
base_python=${PYTHON:-python3}

# The venv is in a 0700 folder, as in a root user's home: pgstack must copy the servers'
# binaries where its unprivileged server account can run them (when run as root). Its own
# tmp folder (clusters, those copies) is a fresh one, removed with the rest at the end.
work=$(mktemp -d "${TMPDIR:-/tmp}/pgstack-check-package.XXXXXX")
shm=/dev/shm
[[ -d $shm && -w $shm ]] || shm=$work
pg_tmp=$(mktemp -d "$shm/pgstack-check-package-tmp.XXXXXX")
chmod 0711 "$pg_tmp"  # the server account must traverse it to its own folders
trap 'rm -rf "$work" "$pg_tmp"' EXIT
dist=$work/dist venv=$work/venv project=$work/project
step() { printf '\n== check-package [%3d s]: %s\n' "$SECONDS" "$*"; }
fail() { printf 'check-package: %s\n' "$*" >&2; exit 1; }

step "build sdist and wheel"
# setuptools warns "byte-compiling is disabled" under PYTHONDONTWRITEBYTECODE: not ours.
env -u PYTHONDONTWRITEBYTECODE "$tools_python" -m build --outdir "$dist" "$root/pgstack" \
    > "$work/build.log" 2>&1 || { cat "$work/build.log"; fail "the build failed"; }
if grep -qEi 'warning|deprecat' "$work/build.log"; then
    cat "$work/build.log"
    fail "the build warned (see the lines with 'warning' above)"
fi
wheel=$(echo "$dist"/pgstack-*.whl)
sdist=$(echo "$dist"/pgstack-*.tar.gz)
[[ -f $wheel && -f $sdist ]] || fail "expected one wheel and one sdist in $dist"
ls -l "$dist"

step "twine check --strict"
"$tools_python" -m twine check --strict "$wheel" "$sdist"

step "wheel contents: py.typed, LICENSE, long description"
"$tools_python" - "$wheel" "$sdist" <<'PY'
import sys
import tarfile
import zipfile
from email.parser import Parser

wheel, sdist = sys.argv[1:]
names = zipfile.ZipFile(wheel).namelist()
meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
meta = Parser().parsestr(zipfile.ZipFile(wheel).read(meta_name).decode())
problems = []
if "pgstack/py.typed" not in names:
    problems.append("no pgstack/py.typed in the wheel")
if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
    problems.append("no LICENSE in the wheel's dist-info/licenses")
if meta["License-Expression"] != "MIT":
    problems.append(f"License-Expression is {meta['License-Expression']!r}, not 'MIT'")
if meta["Description-Content-Type"] != "text/markdown" or len(meta.get_payload()) < 20:
    problems.append("no Markdown long description (README.md)")
if any("sqlalchemy" in r.lower() and "extra ==" not in r for r in meta.get_all("Requires-Dist")):
    problems.append("SQLAlchemy is a required dependency, not only the sqlalchemy extra")
sdist_names = tarfile.open(sdist).getnames()
for member in ("LICENSE", "README.md", "src/pgstack/py.typed"):
    if not any(n.endswith("/" + member) for n in sdist_names):
        problems.append(f"no {member} in the sdist")
if problems:
    sys.exit("check-package: " + "; ".join(problems))
print(f"ok: {len(names)} files, {len(meta.get_payload())} characters of description")
PY

step "clean venv: the wheel with [embedded,xdist], without SQLAlchemy"
"$base_python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c "$constraints")
"${pip[@]}" "$wheel[embedded,xdist]"
"$venv/bin/python" -m pip check
if "$venv/bin/python" -c 'import sqlalchemy' 2>/dev/null; then
    fail "SQLAlchemy got installed without the sqlalchemy extra"
fi

# The smoke project lives outside the checkout, so only the installed wheel is importable.
cp -r "$root/pgstack/smoke" "$project"
cd "$project"
unset DATABASE_URL REDIS_URL PYTEST_ADDOPTS PYTHONPATH
while read -r name; do unset "$name"; done < <(compgen -e | grep -E '^(PGSTACK_|PYTEST_XDIST_)' || true)
export PGSTACK_TMP_DIR=$pg_tmp

step "smoke suite without SQLAlchemy (pytest -n 2)"
"$venv/bin/pytest" -n 2 -p no:cacheprovider

step "install SQLAlchemy; db_session and fresh_database.engine(), on the pgserver wheel's PostgreSQL"
"${pip[@]}" SQLAlchemy
# The binaries a machine without a system PostgreSQL uses; as root they sit in a folder the
# server account cannot reach (mktemp's 0700), which pgstack must handle on its own.
pg_bin=$("$venv/bin/python" -c 'import importlib.util, pathlib
spec = importlib.util.find_spec("pgserver")  # without importing it: it warns as root
print(pathlib.Path(spec.submodule_search_locations[0]) / "pginstall" / "bin")')
PGSTACK_PG_BIN=$pg_bin "$venv/bin/pytest" -p no:cacheprovider tests_sqlalchemy

# The README's other two install lines: from a checkout, and from a git URL (here the
# checkout itself, as file://localhost/…: pip clones its checked-out branch).
for source in "$root/pgstack[xdist]" "pgstack[xdist] @ git+file://localhost$root#subdirectory=pgstack"; do
    step "install from ${source/#$root/<checkout>} (pip, into a clean venv)"
    rm -rf "$work/venv-source"
    "$base_python" -m venv "$work/venv-source"
    "$work/venv-source/bin/python" -m pip install --quiet --disable-pip-version-check \
        -c "$constraints" "$source"
    "$work/venv-source/bin/pgstack" --help > /dev/null \
        || fail "pgstack installed from $source does not run"
    "$work/venv-source/bin/python" -m pip check
done

step "ok: the sdist and wheel build cleanly, pass twine, and work installed"
