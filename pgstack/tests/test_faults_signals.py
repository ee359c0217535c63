"""Ctrl-C and SIGTERM mid-run: the run ends at once, its databases are dropped and the
servers it started are stopped, without waiting for the next run's janitor."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest
from conftest import server_folders
from pgstack.ownership import owned_databases

from pgstack import urls

pytestmark = pytest.mark.reliability

WAITING_TESTS = """
import os
import time
from pathlib import Path

def _wait(name):
    Path(os.environ["READY_DIR"], name).write_text(os.environ["DATABASE_URL"])
    time.sleep(120)

def test_one(db_session):
    _wait("one")

def test_two(db_session):
    _wait("two")
"""


HOWS = ["ctrl-c", "sigint", "sigterm", "sigterm-group", "sigterm-nohup"]


def start_waiting_run(project, env: dict[str, str], how: str) -> tuple[subprocess.Popen, str]:
    """Start `pytest -n 2` on tests that block; return it and a worker's DATABASE_URL.

    It starts with SIGINT at its default, like a terminal's job, whatever this suite was
    started with; for "sigterm-nohup" with SIGINT ignored, like `nohup pytest &`.
    """
    sigint = signal.SIG_IGN if how == "sigterm-nohup" else signal.SIG_DFL
    project.write_test("test_wait", WAITING_TESTS)
    ready = project.path / "ready"
    ready.mkdir()
    full_env = dict(os.environ, READY_DIR=str(ready), **env)
    if project.server_url is not None:
        full_env["DATABASE_URL"] = project.server_url
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", "-n", "2"],
        cwd=project.path,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
        preexec_fn=lambda: signal.signal(signal.SIGINT, sigint),  # noqa: PLW1509
    )
    deadline = time.monotonic() + 60
    while len(list(ready.iterdir())) < 2:
        if proc.poll() is not None:
            pytest.fail(f"the inner run ended early:\n{proc.stdout.read()}")
        assert time.monotonic() < deadline, "the inner run never reached its tests"
        time.sleep(0.05)
    return proc, next(ready.iterdir()).read_text()


# `docker stop` sends SIGKILL this long after its SIGTERM (its default grace period).
DOCKER_STOP_GRACE = 10


def interrupt(proc: subprocess.Popen, how: str) -> str:
    """Ctrl-C reaches the whole foreground group; SIGTERM (`docker stop`, CI, kill) and
    `kill -INT` often only the controller, which must pass it on to busy workers within
    `docker stop`'s grace period; sometimes SIGTERM reaches the whole group."""
    grace = DOCKER_STOP_GRACE
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)
        grace = 60
    elif how == "sigint":  # `kill -INT <pid>`: the controller alone
        proc.send_signal(signal.SIGINT)
    elif how in ("sigterm", "sigterm-nohup"):  # `docker stop`, `kill`: the controller alone
        proc.send_signal(signal.SIGTERM)
    else:  # systemd, `tini -g`: every process, then the controller passes it on
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"the run did not end within {grace} s of the signal: it was killed")
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out
    return out


@pytest.mark.long
@pytest.mark.parametrize("how", HOWS)
def test_signal_drops_the_runs_databases_on_a_shared_server(project, admin, how):
    proc, worker_url = start_waiting_run(project, {}, how)
    run_prefix = urls.database_of(worker_url).rsplit("_", 1)[0] + "_"  # pgstack_<run>_
    before = [name for name, _ in owned_databases(admin, "pgstack") if name.startswith(run_prefix)]
    assert len(before) >= 3, before  # main, gw0, gw1
    interrupt(proc, how)
    left = [name for name, _ in owned_databases(admin, "pgstack") if name.startswith(run_prefix)]
    assert left == [], f"the interrupted run left {left}"


@pytest.mark.long
@pytest.mark.parametrize("how", HOWS)
def test_signal_stops_the_embedded_servers_and_deletes_their_data(project, shm_dir, how):
    project.server_url = None
    proc, worker_url = start_waiting_run(project, {"PGSTACK_TMP_DIR": str(shm_dir)}, how)
    servers = server_folders(shm_dir)
    assert any(name.startswith("pgstack-pg-") for name in servers), servers
    interrupt(proc, how)
    left = server_folders(shm_dir)
    assert left == [], f"server folders left behind: {left}"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(worker_url, connect_timeout=2).close()
