"""Resource limits: a port someone else holds, a full tmpfs, more workers than Redis has
databases. Each ends in a clear message (or is worked around), never a hang."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from conftest import assert_nothing_ran, output, pgstack_dir
from pgstack.servers import process
from pgstack.servers.binaries import find_redis_server
from pgstack.servers.postgres import start_postgres
from pgstack.servers.redis import start_redis
from pgstack.settings import _default_tmp_dir

pytestmark = pytest.mark.reliability


@pytest.fixture
def held_port() -> Iterator[int]:
    """A loopback port another process (here: a plain socket) listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("start", [start_postgres, start_redis], ids=["postgres", "redis"])
def test_embedded_server_whose_port_was_taken_moves_to_another(
    start, held_port, monkeypatch, shm_dir
):
    """The race between picking a free port and the server binding it: the server is
    started again on a new port, and the other process keeps its own."""
    picks = iter([held_port])
    real_free_port = process.free_port
    monkeypatch.setattr(process, "free_port", lambda: next(picks, None) or real_free_port())
    server = start(tmp_dir=shm_dir)
    try:
        assert server.port != held_port
        if start is start_postgres:
            with psycopg.connect(server.url) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
        else:
            assert redis.Redis.from_url(server.url).ping()
    finally:
        server.stop()


def _serve_http(sock: socket.socket) -> None:
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        with conn:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")


def test_database_url_on_a_port_held_by_another_service(project):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        threading.Thread(target=_serve_http, args=(sock,), daemon=True).start()
        port = sock.getsockname()[1]
        project.write_test("test_ok", "def test_ok(db_session):\n    pass\n")
        project.server_url = f"postgresql://postgres@127.0.0.1:{port}/app_test"
        started = time.monotonic()
        result = project.run(env={"PGSTACK_READY_TIMEOUT": "60"})
        assert time.monotonic() - started < 30, "not PostgreSQL: no point in waiting"
    assert_nothing_ran(result)
    assert f"Something listens at 127.0.0.1:{port}, but it is not PostgreSQL" in output(result)


@pytest.fixture
def small_redis() -> Iterator[str]:
    """A Redis with 2 logical databases: room for database 1 only (0 stays unused)."""
    port = process.free_port()
    proc = subprocess.Popen(
        [
            find_redis_server(None),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--databases",
            "2",
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait()


@pytest.mark.long
def test_more_workers_than_redis_databases_fails_before_the_run(project, small_redis):
    (project.path / "pyproject.toml").write_text(
        '[tool.pgstack]\nalembic_config = "alembic.ini"\nredis = true\n'
    )
    project.write_test("test_redis", "def test_ok(redis_client):\n    assert redis_client.ping()\n")
    env = {"REDIS_URL": small_redis}
    project.run("-n", "1", env=env).assert_outcomes(passed=1)  # the control: one worker fits
    result = project.run("-n", "2", env=env)
    assert_nothing_ran(result)
    text = output(result)
    host_port = small_redis.split("//", 1)[1]
    assert f"Redis at {host_port} has 2 logical databases" in text
    assert "this run needs 2 (one per xdist worker)" in text and "-n 1" in text


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def small_tmpfs(request) -> Iterator[Path]:
    """A tmpfs of the size the test names (MB), as PGSTACK_TMP_DIR."""
    size = request.param
    path = Path(tempfile.mkdtemp(prefix="pgstack-small-", dir=_default_tmp_dir()))
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}m,mode=0755", "tmpfs", str(path)], check=True
    )
    yield path
    subprocess.run(["umount", str(path)], check=True)
    path.rmdir()


@needs_root
@pytest.mark.parametrize("small_tmpfs", [30], indirect=True)
def test_tmpfs_too_small_for_the_cluster(project, small_tmpfs):
    project.server_url = None
    project.write_test("test_ok", "def test_ok(db_session):\n    pass\n")
    result = project.run(env={"PGSTACK_TMP_DIR": str(small_tmpfs)})
    assert_nothing_ran(result)
    text = output(result)
    assert "No space left on device" in text
    assert f"{small_tmpfs} (" in text and "is full" in text and "PGSTACK_TMP_DIR" in text


FILL_DISK = """
def test_fill(db_connection):
    db_connection.execute("CREATE TABLE big (t text)")
    db_connection.execute("ALTER TABLE big ALTER t SET STORAGE EXTERNAL")  # no compression
    db_connection.execute(
        "INSERT INTO big SELECT repeat('x', 100000) FROM generate_series(1, 2000)"
    )
"""


@needs_root
@pytest.mark.parametrize("small_tmpfs", [120], indirect=True)
def test_tmpfs_that_fills_up_mid_run(project, small_tmpfs):
    project.server_url = None
    project.write_test("test_fill", FILL_DISK)
    result = project.run(env={"PGSTACK_TMP_DIR": str(small_tmpfs)})
    text = output(result)
    assert result.ret not in (0, 5), text
    result.assert_outcomes(failed=1)
    assert "DiskFull" in text and "Check free disk space" in text
    assert "pgstack: disk full" in text and f"{small_tmpfs} (" in text, text
    assert [p.name for p in pgstack_dir(small_tmpfs).glob("pgstack-pg-*")] == [], (
        "the server's data is left"
    )
