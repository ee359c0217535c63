"""Issue 14, ownership between runs: one run never takes or drops what another live run
holds (Postgres databases, templates of another checkout, Redis logical databases), and a
run on a `pgstack up` stack that is stopped gets advice that fits it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest
import redis
from conftest import Project, assert_nothing_ran, cli, output
from pgstack.ownership import RUN_APP_PREFIX, Marker, RunLease, live_runs, write_marker
from pgstack.servers import process
from pgstack.servers.binaries import find_redis_server
from psycopg import sql

from pgstack import janitor

pytestmark = [pytest.mark.reliability, pytest.mark.security]


def _exists(url: str, name: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def _wait_for(predicate, what: str, proc: subprocess.Popen | None = None) -> None:
    """Poll until ``predicate()`` holds; the deadline only stops a hung test."""
    deadline = time.monotonic() + 60
    while not predicate():
        assert proc is None or proc.poll() is None, f"the inner run ended early ({what})"
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)


def _popen_run(project: Project, env: dict[str, str], *args: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", *args]
    return subprocess.Popen(
        argv,
        cwd=project.path,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(proc: subprocess.Popen) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=120)
    return proc.returncode, out


# A test that, in run A, says where it is and waits for the go-ahead; in run B passes at once.
WAITING_TEST = """
import json, os, time
from pathlib import Path

import psycopg


def test_waits_for_the_other_run():
    ready = os.environ.get("READY_FILE")
    if ready:
        plan = json.loads(os.environ["PGSTACK_RUN_PLAN"])
        info = {"run": plan["run_id"], "url": os.environ["DATABASE_URL"]}
        Path(ready).write_text(json.dumps(info))
        go = Path(os.environ["GO_FILE"])
        while not go.exists():
            time.sleep(0.05)
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
"""


@pytest.fixture
def idle_timeout_server(restartable_server) -> str:
    """A server of this test's own that ends every session idle for one second."""
    with restartable_server.admin() as conn:
        conn.execute("ALTER SYSTEM SET idle_session_timeout = '1s'")
        conn.execute("SELECT pg_reload_conf()")
    return restartable_server.url


def _session_gone(url: str, pid: int) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return row is None


# --- case 7: idle_session_timeout must not make a live run look dead --------------------


def test_live_run_keeps_its_databases_on_a_server_with_idle_session_timeout(
    project, idle_timeout_server, shm_dir
):
    project.server_url = idle_timeout_server
    project.write_test("test_wait", WAITING_TEST)
    ready, go = shm_dir / "ready", shm_dir / "go"
    env = {"DATABASE_URL": idle_timeout_server, "READY_FILE": str(ready), "GO_FILE": str(go)}
    run_a = _popen_run(project, env)
    try:
        _wait_for(ready.exists, "run A reaches its test", run_a)
        a = json.loads(ready.read_text())
        name = a["url"].rsplit("/", 1)[1]
        # A session opened now, idle, is ended by the server: by then A's lease (idle for
        # longer) would have been ended too, if nothing kept it.
        probe = psycopg.connect(idle_timeout_server, autocommit=True)
        pid = probe.info.backend_pid
        _wait_for(lambda: _session_gone(idle_timeout_server, pid), "the idle probe is ended")
        probe.close()
        run_b = project.run()
        run_b.assert_outcomes(passed=1)
        assert not any(name in line for line in run_b.outlines), output(run_b)
        assert _exists(idle_timeout_server, name), f"run B dropped live run A's {name}"
        with psycopg.connect(idle_timeout_server, autocommit=True) as conn:
            assert a["run"] in live_runs(conn)
    finally:
        go.write_text("go")
        code, out = _finish(run_a)
    assert code == 0, out
    assert "1 passed" in out, out


def test_janitor_leaves_a_dead_runs_database_that_still_has_connections(admin, pg_server):
    name = "pgstack_d7d7d7d7d7d7_gw0"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    write_marker(admin, name, Marker(kind="worker", run="d7d7d7d7d7d7"))
    try:
        with psycopg.connect(f"{pg_server.url.rsplit('/', 1)[0]}/{name}") as user:
            assert name not in janitor.collect_dead(admin, "pgstack")
            assert user.execute("SELECT 1").fetchone() == (1,), "the janitor cut the session"
            assert _exists(pg_server.url, name)
        # The control: with nobody connected, the dead run's database goes.
        assert name in janitor.collect_dead(admin, "pgstack")
        assert not _exists(pg_server.url, name)
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def test_a_lease_whose_session_was_ended_is_taken_again(restartable_server):
    run = "e8e8e8e8e8e8"
    lease = RunLease(restartable_server.url, run)
    try:
        with restartable_server.admin() as conn:
            first = lease.connection.info.backend_pid
            conn.execute("SELECT pg_terminate_backend(%s)", (first,))

            def retaken() -> bool:
                row = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                    (RUN_APP_PREFIX + run,),
                ).fetchone()
                return row is not None and row[0] != first

            _wait_for(retaken, "the run takes its lease again")
            assert run in live_runs(conn)
    finally:
        lease.close()
    with restartable_server.admin() as conn:
        _wait_for(lambda: run not in live_runs(conn), "the closed lease ends")


# --- case 8: `pgstack clean` selects this checkout's templates, not the folder name's ----


def _checkout(project: Project, where: str) -> Project:
    """A copy of ``project`` in ``<where>/backend``: same folder name, another checkout."""
    path = project.path / where / "backend"
    path.mkdir(parents=True)
    for item in ("pyproject.toml", "alembic.ini"):
        shutil.copy(project.path / item, path / item)
    shutil.copytree(project.path / "migrations", path / "migrations")
    return Project(project.pytester, path, project.server_url)


def _templates(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'pgstack\\_tpl\\_%'"
        ).fetchall()
    return {name for (name,) in rows}


def _prepare(checkout: Project) -> str:
    done = cli(checkout, "prepare", env={"DATABASE_URL": checkout.server_url})
    assert done.returncode == 0, done.stderr
    return done.stdout.split("template ")[1].split()[0]


def test_clean_in_one_checkout_keeps_another_checkouts_current_template(project):
    x, y = _checkout(project, "x"), _checkout(project, "y")
    y.write_migration("0002", "0001", "ALTER TABLE items ADD COLUMN y_only text")
    x_old, y_current = _prepare(x), _prepare(y)
    x.write_migration("0002", "0001", "ALTER TABLE items ADD COLUMN x_only text")
    x_current = _prepare(x)
    assert len({x_old, y_current, x_current}) == 3

    cleaned = cli(x, "clean", env={"DATABASE_URL": x.server_url})
    assert cleaned.returncode == 0, cleaned.stderr
    left = _templates(project.server_url)
    assert y_current in left, f"clean in x/backend dropped y/backend's template: {cleaned.stdout}"
    assert x_current in left
    assert x_old not in left, "clean must still drop this checkout's old template"
    # --templates also drops this checkout's current template, still not the other's.
    cli(x, "clean", "--templates", env={"DATABASE_URL": x.server_url})
    left = _templates(project.server_url)
    assert y_current in left and x_current not in left
    cli(y, "clean", "--templates", env={"DATABASE_URL": y.server_url})
    assert y_current not in _templates(project.server_url)


def test_clean_leaves_templates_whose_marker_has_no_checkout_identity(project, admin):
    """Markers of older pgstack versions name only the folder: clean cannot tell whose."""
    name = "pgstack_tpl_01d0000000000000"
    legacy = Marker(kind="template", run="0" * 12, state="complete", project=project.path.name)
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        comment = json.loads(legacy.comment()[len("pgstack:") :])
        comment = {k: v for k, v in comment.items() if k in {"kind", "run", "state", "project"}}
        admin.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(name), sql.Literal("pgstack:" + json.dumps(comment))
            )
        )
        cleaned = cli(project, "clean", "--templates", env={"DATABASE_URL": project.server_url})
        assert cleaned.returncode == 0, cleaned.stderr
        assert name in _templates(project.server_url), cleaned.stdout
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


# --- case 10: two runs on one Redis never share a logical database ----------------------

REDIS_PROJECT = '[tool.pgstack]\nalembic_config = "alembic.ini"\nredis = true\n'

REDIS_TEST = """
import json, os, time
from pathlib import Path


def test_redis(redis_client, redis_url):
    plan = json.loads(os.environ["PGSTACK_RUN_PLAN"])
    ready = os.environ.get("READY_FILE")
    redis_client.set("owner", plan["run_id"])
    info = {"run": plan["run_id"], "url": redis_url}
    if ready:
        Path(ready).write_text(json.dumps(info))
        go = Path(os.environ["GO_FILE"])
        while not go.exists():
            time.sleep(0.05)
        assert redis_client.get("owner") == plan["run_id"].encode(), "another run wiped it"
    else:
        Path(os.environ["INFO_FILE"]).write_text(json.dumps(info))
        redis_client.flushdb()
"""


def _slots_of(url: str, runs: set[str]) -> list[str]:
    client = redis.Redis.from_url(url)
    try:
        return [
            key.decode()
            for key in client.scan_iter("pgstack:slot:*")
            if (client.get(key) or b"").decode() in runs
        ]
    finally:
        client.close()


@pytest.mark.long
@pytest.mark.parametrize("workers", [[], ["-n", "1"]], ids=["single", "xdist"])
def test_two_runs_on_one_redis_get_their_own_databases(project, redis_server, shm_dir, workers):
    (project.path / "pyproject.toml").write_text(REDIS_PROJECT)
    project.write_test("test_redis", REDIS_TEST)
    ready, go, info = shm_dir / "ready", shm_dir / "go", shm_dir / "info"
    base = {"DATABASE_URL": project.server_url, "REDIS_URL": redis_server.url}
    run_a = _popen_run(project, {**base, "READY_FILE": str(ready), "GO_FILE": str(go)}, *workers)
    try:
        _wait_for(ready.exists, "run A reaches its test", run_a)
        a = json.loads(ready.read_text())
        run_b = project.run(*workers, env={**base, "INFO_FILE": str(info)})
        run_b.assert_outcomes(passed=1)
        b = json.loads(info.read_text())
        assert a["url"] != b["url"], f"both runs got Redis database {a['url']}"
        assert _slots_of(redis_server.url, {b["run"]}) == [], "run B left its claims"
    finally:
        go.write_text("go")
        code, out = _finish(run_a)
    assert code == 0, out
    assert _slots_of(redis_server.url, {a["run"]}) == [], "run A left its claims"


@pytest.fixture
def small_locked_redis() -> Iterator[str]:
    """A Redis with 3 logical databases, a password and CONFIG renamed away."""
    port = process.free_port()
    proc = subprocess.Popen(
        [
            *(find_redis_server(None), "--port", str(port), "--bind", "127.0.0.1", "--save", ""),
            *("--databases", "3", "--requirepass", "s3cret", "--rename-command", "CONFIG", ""),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://:s3cret@127.0.0.1:{port}/0"

    def answers() -> bool:
        try:
            return redis.Redis.from_url(url).ping()
        except redis.ConnectionError:
            return False

    _wait_for(answers, "the small Redis starts")
    yield url
    proc.terminate()
    proc.wait()


def test_no_free_redis_database_fails_clearly_and_a_free_one_is_used(project, small_locked_redis):
    (project.path / "pyproject.toml").write_text(REDIS_PROJECT)
    project.write_test(
        "test_redis",
        "def test_ok(redis_client, redis_url):\n"
        "    assert redis_client.ping()\n"
        "    assert redis_url.endswith('/2'), redis_url\n",
    )
    other = redis.Redis.from_url(small_locked_redis)
    other.set("pgstack:slot:1", "0therrun0000", px=120_000)  # a live run holds database 1
    env = {"REDIS_URL": small_locked_redis}
    result = project.run("-n", "2", env=env)
    assert_nothing_ran(result)
    text = output(result)
    assert "RedisDatabasesExhausted" not in text and "Traceback" not in text, text
    assert "has 3 logical databases" in text and "other runs hold 1" in text, text
    assert "s3cret" not in text, "the message must not show the password"
    assert other.get("pgstack:slot:2") is None, "a failed run must release what it claimed"

    project.run("-n", "1", env=env).assert_outcomes(passed=1)
    assert other.get("pgstack:slot:1") == b"0therrun0000", "another run's claim was touched"
    assert [k for k in other.scan_iter("pgstack:slot:*")] == [b"pgstack:slot:1"]
    other.close()


# --- `pgstack down` during a run: advice that fits where the server came from ----------

DOWN_TEST = """
import os, subprocess, sys

from sqlalchemy import text


def test_down(db_session):
    subprocess.run(
        [sys.executable, "-m", "pgstack.cli", "--project", os.environ["PROJECT"], "down"],
        check=True, capture_output=True,
    )
    db_session.execute(text("SELECT 1"))
"""


def test_pgstack_down_during_a_run_says_to_start_the_up_stack_again(project, shm_dir, monkeypatch):
    monkeypatch.setenv("PGSTACK_TMP_DIR", str(shm_dir))
    project.server_url = None
    project.write_test("test_down", DOWN_TEST)
    try:
        assert cli(project, "up").returncode == 0
        result = project.run(env={"PROJECT": str(project.path)})
    finally:
        cli(project, "down")
    text = output(result)
    assert result.ret not in (0, 5), text
    advice = [line for line in text.splitlines() if "went away during the run" in line]
    assert advice, text
    assert all("pgstack up" in line for line in advice), advice
    assert not any("DATABASE_URL" in line for line in advice), advice
