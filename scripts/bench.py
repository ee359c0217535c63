"""Benchmarks (never timed assertions in tests): run with `make bench`.

1. Cold start: wall time from launching `make test` to the first test starting, embedded
   servers, nothing running beforehand (each repetition starts its own cluster; the initdb
   result is cached on tmpfs after the very first run on a machine). The floor is the same
   pytest with the same plugins running one trivial test, without pgstack or the app.
2. Per-test cost of isolation: 200 small tests run with the rollback fixture (db_session),
   then the same tests with no isolation at all (one shared session, nothing undone).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTEST = ROOT / ".venv" / "bin" / "pytest"
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))


def _events(path: Path) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for line in path.read_text().splitlines():
        event, stamp = line.split()
        found.setdefault(event, []).append(float(stamp))
    return found


def _env(out: Path) -> dict[str, str]:
    env = dict(os.environ, PGSTACK_BENCH_OUT=str(out))
    env["PYTHONPATH"] = str(ROOT / "scripts") + os.pathsep + env.get("PYTHONPATH", "")
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    return env


def _drop_initdb_cache() -> None:
    import glob
    import shutil

    for path in glob.glob("/dev/shm/pgstack-initdb-*"):  # noqa: S108 - pgstack's own cache
        if os.path.isdir(path):
            shutil.rmtree(path)


def _time_to_first_test(command: list, cwd: Path, tmp: Path) -> float:
    """Wall time from launching ``command`` to the first test's setup (bench_probe)."""
    out = tmp / "events"
    started = time.time()
    subprocess.run(command, cwd=cwd, env=_env(out), check=True, stdout=subprocess.DEVNULL)
    return min(_events(out)["first"]) - started


def cold_start(workers: str, *, without_cache: bool = False) -> list[float]:
    args = "-p bench_probe -p no:randomly -q -m unit"
    command = ["make", "-s", "test", f"WORKERS={workers}", f"PYTEST_ARGS={args}"]
    samples = []
    for _ in range(REPEAT):
        if without_cache:
            _drop_initdb_cache()
        with tempfile.TemporaryDirectory() as tmp:
            samples.append(_time_to_first_test(command, ROOT, Path(tmp)))
    return samples


def floor_start(workers: str) -> list[float]:
    """The same pytest and plugins on one trivial test, without pgstack or the app."""
    command = [PYTEST, "-p", "bench_probe", "-p", "no:randomly", "-q", "-n", workers]
    samples = []
    for _ in range(REPEAT):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "test_trivial.py").write_text("def test_trivial():\n    pass\n")
            samples.append(_time_to_first_test(command, Path(tmp), Path(tmp)))
    return samples


# Both variants run the same statements as the app role (RLS applies): set the tenant,
# insert one organization, count. Only the isolation differs.
_BODY = """
    org = str(uuid.uuid4())
    {s}.execute(text("SELECT set_config('app.org_id', :o, true)"), {{"o": org}})
    insert = text("INSERT INTO organizations (id, name, slug) VALUES (CAST(:o AS uuid), 'x', :s)")
    {s}.execute(insert, {{"o": org, "s": f"s{{i}}"}})
    assert {s}.execute(text("SELECT count(*) FROM organizations")).scalar() == 1
"""

ISOLATED = """
import uuid
import pytest
from sqlalchemy import text

@pytest.mark.parametrize("i", range(200))
def test_write(db_session, i):""" + _BODY.format(s="db_session")

NOT_ISOLATED = (
    """
import uuid
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

@pytest.fixture(scope="session")
def shared(db_engine):
    with Session(db_engine) as session:
        yield session

@pytest.mark.parametrize("i", range(200))
def test_write(shared, i):"""
    + _BODY.format(s="shared")
    + """    shared.commit()
"""
)


def per_test(body: str) -> list[float]:
    samples = []
    for _ in range(REPEAT):
        with tempfile.TemporaryDirectory() as tmp:
            tests = Path(tmp) / "test_bench.py"
            tests.write_text(textwrap.dedent(body))
            out = Path(tmp) / "events"
            subprocess.run(
                [PYTEST, "-c", ROOT / "backend/pyproject.toml", "--rootdir", ROOT / "backend",
                 "-p", "bench_probe", "-p", "no:randomly", "-q", "-n", "0", str(tests)],
                cwd=ROOT / "backend",
                env=_env(out),
                check=True,
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            events = _events(out)
            samples.append((events["last"][0] - events["first"][0]) / 200 * 1000)
    return samples


def main() -> int:
    subprocess.run(["make", "-s", "venv"], cwd=ROOT, check=True)
    rows = [
        ("make test → first test, 1 process (-n 0), cold", cold_start("0"), "s"),
        ("make test → first test, -n auto, cold", cold_start("auto"), "s"),
        (
            "same, -n 0, first run on a machine (no initdb cache)",
            cold_start("0", without_cache=True),
            "s",
        ),
        ("floor: pytest → first test, trivial test, no pgstack, 1 process", floor_start("0"), "s"),
        ("floor: same, -n auto", floor_start("auto"), "s"),
        ("per test, rollback fixture (db_session)", per_test(ISOLATED), "ms"),
        ("per test, no isolation (floor)", per_test(NOT_ISOLATED), "ms"),
    ]
    print(f"\n{os.cpu_count()} cores, {REPEAT} repetitions each, median (min-max)\n")
    print("| measure | median | range |\n|---|---|---|")
    for label, samples, unit in rows:
        fmt = "{:.2f}" if unit == "s" else "{:.3f}"
        median = fmt.format(statistics.median(samples))
        low, high = fmt.format(min(samples)), fmt.format(max(samples))
        print(f"| {label} | {median} {unit} | {low}-{high} {unit} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
