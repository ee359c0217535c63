"""`make bench`: every variant in one run, on one machine, written to docs/benchmarks/.

No test asserts a timing; this script measures and reports, targets included. Sections:

1. per-test isolation: 200 small tests (insert + query) under each isolation variant,
   all on one PostgreSQL server with the same settings (benchmarks/suite); the same
   tests as async tests (pytest-asyncio, one session loop) for psycopg async and asyncpg,
   pgstack's rollback fixtures against an async no-isolation floor;
2. cold start: `make test` (the backend suite, embedded servers) to first test, beside the
   floors (pytest + xdist alone; initdb + start of a cluster on tmpfs) and the compose
   stack when Docker is usable;
3. warm start: the same with `pgstack up` running (server up, template built), in the
   same rounds as the cold starts;
4. parallel scaling: a database-bound suite with -n 1, -n 2, -n 4;
5. SQLite in memory on the same small tests, and the backend tests it cannot run.

Environment: BENCH_REPEAT (rounds per figure, default 5).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import clone_floor
import compose_start

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SUITE = HERE / "suite"
OUT_DIR = ROOT / "docs" / "benchmarks"
BENCH_PY = HERE / ".venv" / "bin" / "python"
MAIN_PY = ROOT / ".venv" / "bin" / "python"
REPEAT = int(os.environ.get("BENCH_REPEAT", "5"))
N_TESTS = 200


@dataclass
class Figure:
    label: str
    unit: str
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def spread(self) -> str:
        return f"{min(self.samples):.{self.digits}f}-{max(self.samples):.{self.digits}f}"

    @property
    def digits(self) -> int:
        return 1 if self.unit == "ms" else 2


def _env(events: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["PGSTACK_BENCH_OUT"] = str(events)
    env["PYTHONPATH"] = str(HERE) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _events(path: Path) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for line in path.read_text().splitlines():
        event, stamp = line.split()
        found.setdefault(event, []).append(float(stamp))
    return found


def _timed_run(command: list, cwd: Path, **env: str) -> tuple[float, dict[str, list[float]]]:
    """Run ``command`` with the probe plugin; (launch time, recorded events)."""
    started, events, _ = _timed_run_output(command, cwd, **env)
    return started, events


def _timed_run_output(
    command: list, cwd: Path, **env: str
) -> tuple[float, dict[str, list[float]], str]:
    """Like ``_timed_run``, also returning what the command printed."""
    with tempfile.TemporaryDirectory() as tmp:
        events = Path(tmp) / "events"
        started = time.time()
        out = subprocess.run(
            [str(part) for part in command],
            cwd=cwd,
            env=_env(events, **env),
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        return started, _events(events), out.stdout


def _template_phase(output: str) -> float:
    """The template phase from pgstack's header ("…, template 0.02 s…")."""
    found = re.search(r"pgstack: ready in .*, template (\d+\.\d+) s", output)
    if found is None:
        raise RuntimeError(f"no pgstack header in the output:\n{output[:2000]}")
    return float(found.group(1))


def _suite(*args: str) -> list:
    return [BENCH_PY, "-m", "pytest", "-p", "probe", "-p", "no:cacheprovider", "-q", *args]


# 1. isolation -----------------------------------------------------------------------------

VARIANTS = [
    ("floor", "no isolation (floor)"),
    ("rollback", "pgstack rollback (db_connection)"),
    ("truncate", "TRUNCATE after each test"),
    ("fresh", "pgstack fresh_database (clone per test)"),
    ("clone-floor", "floor of a clone per test: the same work, no pytest, 6 at a time"),
    ("pytest-postgresql", "pytest-postgresql `postgresql` (database per test)"),
    ("sqlite", "SQLite in memory"),
]


ASYNC_VARIANTS = [
    ("async-floor-psycopg", "psycopg async: no isolation (floor)"),
    ("async-fixture-psycopg", "psycopg async: a function-scoped async fixture, nothing undone"),
    ("async-rollback-psycopg", "psycopg async: pgstack rollback (async_db_connection)"),
    ("async-floor-asyncpg", "asyncpg: no isolation (floor)"),
    ("async-fixture-asyncpg", "asyncpg: a function-scoped async fixture, nothing undone"),
    ("async-rollback-asyncpg", "asyncpg: pgstack rollback (asyncpg_connection)"),
]
ASYNC_DRIVERS = ("psycopg", "asyncpg")


def isolation(server: str, variants: list = VARIANTS, tests: str = "test_small.py") -> dict:
    """ms per test, from the first test's setup to the last test's teardown."""
    figures = {key: Figure(label, "ms") for key, label in variants}
    for _ in range(REPEAT):  # rounds interleave the variants: drift hits them alike
        for key, _label in variants:
            if key == "clone-floor":  # no pytest: the server's own clone throughput
                figures[key].samples.append(clone_floor.ms_per_test(server, N_TESTS))
                continue
            _, events = _timed_run(
                _suite("-n", "0", tests), SUITE, BENCH_VARIANT=key, DATABASE_URL=server
            )
            span = events["last"][0] - events["first"][0]
            figures[key].samples.append(span / N_TESTS * 1000)
    return figures


def async_isolation(server: str) -> dict[str, Figure]:
    return isolation(server, ASYNC_VARIANTS, "test_small_async.py")


# 2./3. start -----------------------------------------------------------------------------


def to_first_test(workers: str, **env: str) -> tuple[float, float]:
    """`make test` (backend, embedded servers unless `pgstack up` runs) → first test;
    (seconds to the first test, seconds of the template phase)."""
    args = "-p probe -p no:randomly -m unit"
    command = ["make", "-s", "test", f"WORKERS={workers}", f"PYTEST_ARGS={args}"]
    started, events, output = _timed_run_output(command, ROOT, **env)
    return min(events["first"]) - started, _template_phase(output)


NO_CACHE = {"PGSTACK_CLUSTER_CACHE_MB": "0"}


def example_template_phase(example: Path, **env: str) -> float | None:
    """An example project's template phase on a cold embedded run (None: no venv yet,
    `make test-examples` makes it)."""
    pytest = example / ".venv" / "bin" / "pytest"
    if not pytest.exists():
        return None
    command = [pytest, "-p", "no:randomly", "-p", "no:cacheprovider", "-n", "0", "--co"]
    out = subprocess.run(
        [str(part) for part in command],
        cwd=example,
        env={**_env(Path(os.devnull)), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return _template_phase(out.stdout)


def fresh_clone(*, cold_cache: bool, dont_write_bytecode: bool = False) -> float:
    """`git clone` of this repository, then `make test` until it is green: seconds of the
    `make test`. A cold cache gives uv, pip and the uv bootstrap empty caches.
    ``dont_write_bytecode``: PYTHONDONTWRITEBYTECODE=1, as in CI images (the venv is then
    compiled at install); else unset, as on a developer's machine."""
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "p"
        subprocess.run(["git", "clone", "-q", ROOT, clone], check=True)
        left_out = {"DATABASE_URL", "REDIS_URL", "PYTHONDONTWRITEBYTECODE"}
        env = {k: v for k, v in os.environ.items() if k not in left_out}
        if dont_write_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        if cold_cache:
            env.update(
                UV_CACHE_DIR=f"{tmp}/uv", PIP_CACHE_DIR=f"{tmp}/pip", XDG_CACHE_HOME=f"{tmp}/x"
            )
        started = time.time()
        subprocess.run(
            ["make", "-s", "test"], cwd=clone, env=env, check=True, stdout=subprocess.DEVNULL
        )
        return time.time() - started


def suite_to_first_test(server: str | None = None) -> float:
    """The small suite (pytest + pgstack, no app) → first test."""
    env = {"BENCH_VARIANT": "rollback"}
    if server:
        env["DATABASE_URL"] = server
    started, events = _timed_run(_suite("-n", "0", "-x", "test_small.py"), SUITE, **env)
    return min(events["first"]) - started


def suite_floor() -> float:
    """The small suite's own floor: the same pytest, plugins and tests, pgstack left out
    (SQLite variant, one test)."""
    command = _suite("-p", "no:pgstack", "-n", "0", "-x", "test_small.py")
    started, events = _timed_run(command, SUITE, BENCH_VARIANT="sqlite")
    return min(events["first"]) - started


def pytest_floor(workers: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "test_trivial.py").write_text("def test_trivial():\n    pass\n")
        command = [MAIN_PY, "-m", "pytest", "-p", "probe", "-p", "no:randomly", "-q"]
        started, events = _timed_run([*command, "-n", workers], Path(tmp))
    return min(events["first"]) - started


def initdb_and_start() -> float:
    """The floor of any embedded cluster: initdb (no cache) and start until SELECT 1."""
    code = (
        "import tempfile, time\n"
        "from pathlib import Path\n"
        "from pgstack.accounts import unprivileged_account\n"
        "from pgstack.servers import initdb, postgres as pg\n"
        "from pgstack.servers.binaries import find_postgres_bin\n"
        "from pgstack.servers.process import spawn, stop\n"
        "run_as = unprivileged_account(); bin_dir = find_postgres_bin(None)\n"
        "base = Path(tempfile.mkdtemp(dir='/dev/shm')); base.chmod(0o777)\n"
        "pwfile = base / 'pw'; pwfile.write_text('floor'); pwfile.chmod(0o644)\n"
        "t = time.perf_counter()\n"
        "initdb.run_initdb(bin_dir, base / 'data', run_as, pwfile)\n"
        "proc = spawn([bin_dir / 'postgres', '-D', base / 'data', '-p', '55123', '-c',\n"
        "    f'unix_socket_directories={base}'], log_path=base / 'log', run_as=run_as)\n"
        "pg.wait_for_postgres(f'postgresql://postgres@/postgres?host={base}&port=55123',\n"
        "    timeout=30, what='floor', fix='')\n"
        "print(time.perf_counter() - t)\n"
        "stop(proc)\n"
        "import shutil; shutil.rmtree(base, ignore_errors=True)\n"
    )
    out = subprocess.run([MAIN_PY, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def docker_usable() -> bool:
    """An engine that answers and Compose v2 (`which` first: no docker, no process to run)."""
    if shutil.which("docker") is None:
        return False
    return all(
        subprocess.run(["docker", *probe], capture_output=True, check=False).returncode == 0
        for probe in (["info"], ["compose", "version"])
    )


@contextlib.contextmanager
def servers_up() -> Iterator[None]:
    """`pgstack up` for the backend and the small suite, `pgstack down` after."""
    projects = [
        (ROOT / ".venv" / "bin" / "pgstack", "backend"),
        (HERE / ".venv" / "bin" / "pgstack", SUITE),
    ]

    def each(action: str, *, check: bool) -> None:
        for pgstack, project in projects:
            command = [pgstack, "--project", project, action]
            subprocess.run(command, cwd=ROOT, check=check, stdout=subprocess.DEVNULL)

    try:
        each("up", check=True)
        yield
    finally:
        each("down", check=False)


def starts() -> dict[str, Figure]:
    figures = {
        "cold0": Figure("`make test` → first test, 1 process, cold, no cluster cache", "s"),
        "coldn": Figure("`make test` → first test, -n auto, cold, no cluster cache", "s"),
        "cached0": Figure("`make test` → first test, 1 process, cold, cluster cached", "s"),
        "cachedn": Figure("`make test` → first test, -n auto, cold, cluster cached", "s"),
        "warm0": Figure("`make test` → first test, 1 process, `pgstack up` running", "s"),
        "warmn": Figure("`make test` → first test, -n auto, `pgstack up` running", "s"),
        "tpl_cold": Figure("template phase, backend, cold, no cluster cache", "s"),
        "tpl_cached": Figure("template phase, backend, cold, cluster cached", "s"),
        "suite_cold": Figure("small suite (no app) → first test, cold (embedded)", "s"),
        "suite_warm": Figure("small suite (no app) → first test, `pgstack up` running", "s"),
        "suite_floor": Figure("floor: small suite without pgstack → first test", "s"),
        "floor_pytest": Figure("floor: pytest alone, 1 trivial test, 1 process", "s"),
        "floor_xdist": Figure("floor: pytest + xdist alone, 1 trivial test, -n auto", "s"),
        "floor_initdb": Figure("floor: initdb + start + SELECT 1 on tmpfs", "s"),
    }
    for example in sorted(ROOT.glob("examples/*/")):
        if example_template_phase(example) is not None:  # also fills its cluster cache
            name = example.name
            figures[f"tpl_{name}"] = Figure(f"template phase, {name}, cold, no cache", "s")
            figures[f"tplc_{name}"] = Figure(f"template phase, {name}, cold, cached", "s")
    to_first_test("0")  # a run that leaves the migrated cluster for the cached rows
    for _ in range(REPEAT):
        seconds, template = to_first_test("0", **NO_CACHE)
        figures["cold0"].samples.append(seconds)
        figures["tpl_cold"].samples.append(template)
        figures["coldn"].samples.append(to_first_test("auto", **NO_CACHE)[0])
        seconds, template = to_first_test("0")
        figures["cached0"].samples.append(seconds)
        figures["tpl_cached"].samples.append(template)
        figures["cachedn"].samples.append(to_first_test("auto")[0])
        figures["suite_cold"].samples.append(suite_to_first_test())
        figures["suite_floor"].samples.append(suite_floor())
        figures["floor_pytest"].samples.append(pytest_floor("0"))
        figures["floor_xdist"].samples.append(pytest_floor("auto"))
        figures["floor_initdb"].samples.append(initdb_and_start())
        for example in sorted(ROOT.glob("examples/*/")):
            if f"tpl_{example.name}" in figures:
                phase = example_template_phase(example, **NO_CACHE)
                figures[f"tpl_{example.name}"].samples.append(phase or 0.0)
                phase = example_template_phase(example)
                figures[f"tplc_{example.name}"].samples.append(phase or 0.0)
        with servers_up():  # `pgstack up` in the same round: drift hits cold and up alike
            figures["warm0"].samples.append(to_first_test("0")[0])
            figures["warmn"].samples.append(to_first_test("auto")[0])
            figures["suite_warm"].samples.append(suite_to_first_test())
    clone_warm = Figure("fresh clone → `make test` green, warm package cache", "s")
    clone_ci = Figure(
        "fresh clone → `make test` green, warm package cache, PYTHONDONTWRITEBYTECODE=1", "s"
    )
    for _ in range(min(REPEAT, 3)):  # rounds interleave the two
        clone_warm.samples.append(fresh_clone(cold_cache=False))
        clone_ci.samples.append(fresh_clone(cold_cache=False, dont_write_bytecode=True))
    figures["clone_warm"] = clone_warm
    figures["clone_ci"] = clone_ci
    figures["clone_cold"] = Figure("fresh clone → `make test` green, empty package caches", "s")
    figures["clone_cold"].samples.append(fresh_clone(cold_cache=True))
    if docker_usable():
        compose = Figure("compose stack, cold: `run --rm tests` on one test, to exit", "s")
        compose.samples = compose_start.measure(REPEAT)
        figures["compose"] = compose
    else:
        print("bench: compose stack NOT measured: no usable Docker engine here", file=sys.stderr)
    return figures


# 4. scaling ------------------------------------------------------------------------------


def scaling(server: str) -> dict[str, Figure]:
    """Whole test phase of the DB-bound suite: first test start to last test end, all workers."""
    figures = {n: Figure(f"DB-bound suite, -n {n}", "s") for n in ("1", "2", "4")}
    for _ in range(REPEAT):
        for n, figure in figures.items():
            _, events = _timed_run(_suite("-n", n, "test_dbbound.py"), SUITE, DATABASE_URL=server)
            figure.samples.append(max(events["last"]) - min(events["first"]))
    return figures


# 5. SQLite -------------------------------------------------------------------------------


def sqlite_gap() -> dict[str, object]:
    """How many backend tests need PostgreSQL, and what SQLite says about its schema."""
    collect = [MAIN_PY, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly"]
    counts = {}
    for marker in ("integration", "not integration"):
        out = subprocess.run(
            [*collect, "-m", marker],
            cwd=ROOT / "backend",
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        counts[marker] = sum(1 for line in out.splitlines() if "::" in line)
    code = (
        "from sqlalchemy import create_engine\n"
        "from app.models import Base\n"
        "try:\n"
        "    Base.metadata.create_all(create_engine('sqlite://'))\n"
        "    print('created')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__ + ': ' + ' '.join(str(exc).split())[:160])\n"
    )
    env = dict(os.environ, JWT_SECRET="bench-only-" + "0123456789abcdef" * 3)
    schema = subprocess.run(
        [MAIN_PY, "-c", code],
        cwd=ROOT / "backend",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    return {
        "postgres_only": counts["integration"],
        "portable": counts["not integration"],
        "schema": (schema.stdout or schema.stderr).strip().splitlines()[-1],
    }


# report ----------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = subprocess.run(
        [BENCH_PY, "-c", "import importlib.metadata as m; print(' '.join(f'{p} {m.version(p)}' "
         "for p in ('pytest', 'pytest-xdist', 'pytest-postgresql', 'psycopg', 'pgstack')))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    server = subprocess.run(
        [MAIN_PY, "-c", "from pgstack.servers.binaries import find_postgres_bin; "
         "print(find_postgres_bin(None))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    postgres = subprocess.run(
        [f"{server}/postgres", "--version"], capture_output=True, text=True, check=True
    )
    return {
        "machine": f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, {platform.platform()}",
        "python": platform.python_version(),
        "postgres": f"{postgres.stdout.strip()} from {server}, data on tmpfs, "
        "db/postgresql.test.conf",
        "packages": versions,
    }


def async_targets(aio: dict[str, Figure]) -> list:
    rows = []
    for driver in ASYNC_DRIVERS:
        floor = aio[f"async-floor-{driver}"].median
        ratio = aio[f"async-rollback-{driver}"].median / floor
        bare = aio[f"async-fixture-{driver}"].median / floor  # pytest-asyncio's own share
        value = f"{ratio:.2f}× (a bare async fixture: {bare:.2f}×)"
        rows.append(
            (f"{driver} async rollback within 1.3× of its async floor", value, ratio <= 1.3)
        )
    return rows


def targets(iso: dict[str, Figure], start: dict[str, Figure], scale: dict[str, Figure]) -> list:
    floor, rollback = iso["floor"].median, iso["rollback"].median
    pp, fresh = iso["pytest-postgresql"].median, iso["fresh"].median
    fresh_floor = iso["clone-floor"].median  # the server's own throughput for that work
    speedup = scale["1"].median / scale["2"].median
    base = start["suite_floor"].median
    cold, warm = start["suite_cold"].median, start["suite_warm"].median
    phases = [f for key, f in start.items() if key.startswith(("tpl_cached", "tplc_"))]
    slowest = max(phases, key=lambda f: f.median)
    ratio0 = start["cached0"].median / start["warm0"].median
    ration = start["cachedn"].median / start["warmn"].median
    xdist_share = start["cachedn"].median - start["floor_xdist"].median
    clone = start["clone_warm"].median
    return [
        ("template phase of a cold run on an unchanged schema ≤ 0.05 s (backend, examples)",
         f"{slowest.median:.2f} s (slowest: {slowest.label})", slowest.median <= 0.05),
        ("cold `make test` → first test within 1.15× of `pgstack up` (1 process / -n auto)",
         f"{ratio0:.2f}× / {ration:.2f}×", max(ratio0, ration) <= 1.15),
        ("fresh clone → `make test` green ≤ 15 s (warm package cache)",
         f"{clone:.1f} s (empty caches: {start['clone_cold'].median:.1f} s; with "
         f"PYTHONDONTWRITEBYTECODE=1: {start['clone_ci'].median:.1f} s)", clone <= 15),
        ("-n auto start: pgstack's share over pytest + xdist alone (report)",
         f"{xdist_share:.2f} s (floor {start['floor_xdist'].median:.2f} s)", True),
        ("rollback within 1.3× of the floor", f"{rollback / floor:.2f}×", rollback / floor <= 1.3),
        ("rollback ≥ 25× faster than pytest-postgresql",
         f"{pp / rollback:.0f}×", pp / rollback >= 25),
        ("fresh clone ≤ 15 ms per test",
         f"{fresh:.1f} ms (floor {fresh_floor:.1f} ms: {fresh / fresh_floor:.2f}×)", fresh <= 15),
        ("cold start to first test ≤ 1.0 s (small suite, embedded)",
         f"{cold:.2f} s (pgstack's share {cold - base:.2f} s)", cold <= 1.0),
        ("warm start ≤ 0.2 s (pgstack's share of the small suite's start, `pgstack up`)",
         f"{warm - base:.2f} s (first test at {warm:.2f} s)", warm - base <= 0.2),
        ("-n 2 ≥ 1.6× faster than -n 1 (DB-bound suite)", f"{speedup:.2f}×", speedup >= 1.6),
        _compose_target(start),
    ]  # fmt: skip


def _compose_target(start: dict[str, Figure]) -> tuple[str, str, bool]:
    name = "compose stack, cold, `run --rm tests` on one test ≤ 3 s (images built)"
    if "compose" not in start:
        return name, "not measured: no usable Docker engine", False
    compose = start["compose"].median
    return name, f"{compose:.2f} s", compose <= 3.0


def write_report(sections: dict[str, dict[str, Figure]], gap: dict, info: dict) -> Path:
    iso = sections["isolation"]
    floor = iso["floor"].median
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `make bench` (`benchmarks/run.py`, BENCH_REPEAT={REPEAT}) on "
        f"{time.strftime('%Y-%m-%d')}. Every figure is the median of {REPEAT} rounds, with the "
        "range (min-max); all variants ran in the same run, on the same machine, against the "
        "same server settings. Absolute times on a shared machine move 10-20 % between "
        "runs; the ratios are what to compare.",
        "",
        f"- machine: {info['machine']}",
        f"- Python {info['python']}; {info['postgres']}",
        f"- {info['packages']}",
        "",
        "![benchmarks](results.png)",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    rows = targets(iso, sections["start"], sections["scaling"]) + async_targets(sections["async"])
    for name, value, met in rows:
        lines.append(f"| {name} | {value} | {'yes' if met else '**no**'} |")
    lines += [
        "",
        f"## Per-test isolation ({N_TESTS} tests: insert a row, read it back; one process)",
        "",
        "Time from the first test's setup to the last test's teardown, divided by the number "
        "of tests (start-up excluded).",
        "",
        "| variant | ms per test | range | × floor |",
        "|---|---|---|---|",
    ]
    for figure in iso.values():
        lines.append(
            f"| {figure.label} | {figure.median:.2f} | {figure.spread()} | "
            f"{figure.median / floor:.1f} |"
        )
    lines += [
        "",
        f"## Per-test isolation, async ({N_TESTS} tests, the same, as async tests; one process)",
        "",
        "pytest-asyncio, one session-scoped event loop; each floor is one connection for the "
        "run with nothing undone, handed to each test by a plain function-scoped fixture (as "
        "the sync floor is). The bare fixture rows hand it over through a function-scoped "
        "async fixture instead: what pytest-asyncio's per-test set-up costs on its own, which "
        "any per-test async fixture pays. The rollback fixtures end each test with "
        "`ROLLBACK; BEGIN` in one round trip.",
        "",
        "| variant | ms per test | range | × its floor |",
        "|---|---|---|---|",
    ]
    aio = sections["async"]
    for key, figure in aio.items():
        floor_of = aio["async-floor-" + key.rsplit("-", 1)[1]].median
        lines.append(
            f"| {figure.label} | {figure.median:.2f} | {figure.spread()} | "
            f"{figure.median / floor_of:.2f} |"
        )
    lines += ["", "## Start", "", "| what | median (s) | range |", "|---|---|---|"]
    for figure in sections["start"].values():
        lines.append(f"| {figure.label} | {figure.median:.2f} | {figure.spread()} |")
    lines += [
        "",
        "## Parallel scaling (200 tests, each ~15 ms of PostgreSQL work)",
        "",
        "Test phase, first test start to last test end, over all workers.",
        "",
        "| workers | median (s) | range | speed-up vs -n 1 |",
        "|---|---|---|---|",
    ]
    one = sections["scaling"]["1"].median
    for n, figure in sections["scaling"].items():
        lines.append(
            f"| -n {n} | {figure.median:.2f} | {figure.spread()} | {one / figure.median:.2f}× |"
        )
    lines += [
        "",
        "## SQLite in memory",
        "",
        f"The small tests run on SQLite at {iso['sqlite'].median:.2f} ms per test "
        f"({iso['sqlite'].median / floor:.1f}× the PostgreSQL floor). The example backend: "
        f"**{gap['postgres_only']} of its {gap['postgres_only'] + gap['portable']} tests cannot "
        f"run on SQLite at all** (every `integration` test: they need its schema), and its "
        f"schema does not even create there: `{gap['schema']}`. The {gap['portable']} others "
        "are unit tests that use no database.",
        "",
    ]
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / "results.md"
    path.write_text("\n".join(lines))
    return path


def write_chart(sections: dict[str, dict[str, Figure]]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def wrap(figures: list[Figure]) -> list[str]:
        return [textwrap.fill(f.label, 34) for f in figures]

    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 6))
    iso = list(sections["isolation"].values())
    left.barh(wrap(iso), [f.median for f in iso], color="#4C72B0")
    left.set_xscale("log")
    left.set_xlabel("ms per test (log scale)")
    left.set_title(f"Per-test isolation, {N_TESTS} small tests")
    left.invert_yaxis()
    start = list(sections["start"].values())
    right.barh(wrap(start), [f.median for f in start], color="#55A868")
    right.set_xlabel("seconds")
    right.set_title("Start to first test")
    right.invert_yaxis()
    for axis in (left, right):
        axis.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    path = OUT_DIR / "results.png"
    fig.savefig(path, dpi=110)
    return path


def suite_server() -> str:
    """The server every isolation and scaling variant uses: the suite's `pgstack up`."""
    pgstack = HERE / ".venv" / "bin" / "pgstack"
    subprocess.run([pgstack, "--project", SUITE, "up"], check=True, stdout=subprocess.DEVNULL)
    env = subprocess.run(
        [pgstack, "--project", SUITE, "env"], capture_output=True, text=True, check=True
    ).stdout
    return env.split("DATABASE_URL=", 1)[1].split()[0].strip("'")


def main() -> int:
    info = machine()
    server = suite_server()
    pgstack = HERE / ".venv" / "bin" / "pgstack"
    try:
        print("bench: per-test isolation…", flush=True)
        iso = isolation(server)
        print("bench: per-test isolation, async…", flush=True)
        aio = async_isolation(server)
        print("bench: parallel scaling…", flush=True)
        scale = scaling(server)
    finally:
        subprocess.run(
            [pgstack, "--project", SUITE, "down"], check=False, stdout=subprocess.DEVNULL
        )
    print("bench: start times…", flush=True)
    start = starts()
    gap = sqlite_gap()
    sections = {"isolation": iso, "async": aio, "start": start, "scaling": scale}
    report = write_report(sections, gap, info)
    chart = write_chart(sections)
    print(report.read_text())
    print(f"bench: wrote {report.relative_to(ROOT)} and {chart.relative_to(ROOT)}")
    (OUT_DIR / "results.json").write_text(
        json.dumps({k: {n: f.samples for n, f in v.items()} for k, v in sections.items()}, indent=1)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
