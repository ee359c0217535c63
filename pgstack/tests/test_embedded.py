"""The embedded servers: start from found binaries, run unprivileged, leave nothing behind."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

import psycopg
import pytest
from pgstack.servers.postgres import (
    CACHE_PREFIX,
    DIR_PREFIX,
    OWNER_FILE,
    start_postgres,
    sweep_stale,
)
from pgstack.servers.redis import start_redis


def _owner_of(pid: int) -> str:
    uid = os.stat(f"/proc/{pid}").st_uid
    return pwd.getpwuid(uid).pw_name


def test_postgres_starts_stops_and_leaves_nothing(tmp_path, shm_dir):
    conf = tmp_path / "test.conf"
    conf.write_text("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
    work = shm_dir
    server = start_postgres(tmp_dir=work, conf_file=conf)
    try:
        with psycopg.connect(server.url) as conn:
            settings = dict(
                conn.execute(
                    "SELECT name, setting FROM pg_settings WHERE name IN "
                    "('fsync', 'synchronous_commit', 'full_page_writes')"
                ).fetchall()
            )
        assert settings == {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        expected = "pgstack" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        assert _owner_of(server.process.pid) == expected
    finally:
        server.stop()
    assert server.process.poll() is not None
    left = sorted(p.name for p in (work / f"pgstack-{os.geteuid()}").iterdir())
    # Only the reusable initdb result (and its lock) stays; the run's cluster is gone.
    assert [name for name in left if not name.startswith(CACHE_PREFIX)] == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to prove the root path")
def test_as_root_the_server_runs_as_an_unprivileged_account(shm_dir):
    server = start_postgres(tmp_dir=shm_dir)
    try:
        assert _owner_of(server.process.pid) != "root"
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SHOW data_directory").fetchone()[0].startswith(str(shm_dir))
    finally:
        server.stop()


def test_wheel_binaries_work_from_a_private_folder(shm_dir, tmp_path):
    """The pgserver wheel's PostgreSQL, installed where the server's account cannot reach
    (as root: tmp_path is private to root, like a venv under /root): pgstack copies it,
    keeping the layout its relative RPATH needs, instead of opening up the folder."""
    import importlib.util
    import shutil

    spec = importlib.util.find_spec("pgserver")
    assert spec is not None, "pgserver is a dev dependency"
    package = Path(spec.origin).parent
    shutil.copytree(package, tmp_path / "site" / "pgserver", symlinks=True)
    shutil.copytree(package.parent / "pgserver.libs", tmp_path / "site" / "pgserver.libs")
    bin_dir = tmp_path / "site" / "pgserver" / "pginstall" / "bin"
    assert oct(tmp_path.stat().st_mode & 0o777) == "0o700"
    server = start_postgres(tmp_dir=shm_dir, pg_bin=bin_dir)
    try:
        with psycopg.connect(server.url) as conn:
            assert conn.info.server_version >= 160000
        if os.geteuid() == 0:
            assert not server.bin_dir.is_relative_to(tmp_path)  # ran from pgstack's copy
    finally:
        server.stop()


def test_one_private_copy_per_binary_not_per_venv(shm_dir, tmp_path):
    """As root, binaries the server account cannot reach are copied into pgstack's folder.
    The same wheel in two venvs (two paths, two mtimes: two fresh checkouts) must share one
    copy: keyed by path, every new venv added another that nothing removed."""
    import importlib.util
    import shutil

    from pgstack.accounts import unprivileged_account
    from pgstack.private_dirs import base_dir
    from pgstack.servers.binaries import find_redis_server, reachable_bin
    from pgstack.servers.redis import _reachable_binary

    run_as = unprivileged_account()
    base = base_dir(shm_dir)
    spec = importlib.util.find_spec("pgserver")
    assert spec is not None and spec.origin is not None, "pgserver is a dev dependency"
    package = Path(spec.origin).parent
    redis, postgres = [], []
    for venv in ("one", "two"):
        site = tmp_path / venv / "site"
        site.mkdir(parents=True)
        shutil.copy(find_redis_server(None), site / "redis-server")  # a new mtime each
        shutil.copytree(package, site / "pgserver", symlinks=True)
        shutil.copytree(package.parent / "pgserver.libs", site / "pgserver.libs")
        redis.append(_reachable_binary(site / "redis-server", run_as, base))
        postgres.append(reachable_bin(site / "pgserver" / "pginstall" / "bin", run_as, base))
    if run_as is None:  # not root: the server runs as us, from where the binaries are
        assert redis[0].is_relative_to(tmp_path) and postgres[0].is_relative_to(tmp_path)
        return
    assert redis[0] == redis[1] and redis[0].is_relative_to(base), redis
    assert postgres[0] == postgres[1] and postgres[0].is_relative_to(base), postgres
    assert len(list(base.glob("pgstack-redisbin-*"))) == 1
    assert len(list(base.glob("pgstack-pginstall-*"))) == 1


def test_a_known_binary_finds_its_copy_without_reading_its_bytes(tmp_path):
    """Hashing a 9 MB server costs ~20 ms per start: a binary seen before (same path and
    mtime) finds its copy from a link; a changed one is keyed again."""
    from pgstack.servers.binaries import cached_copy

    binary = tmp_path / "server"
    binary.write_bytes(b"one")

    def fill(staging: Path) -> None:
        (staging / "server").write_bytes(binary.read_bytes())

    def must_not_read() -> str:
        raise AssertionError("the bytes were read again")

    first = cached_copy(tmp_path, "test", binary, lambda: "one", fill)
    assert cached_copy(tmp_path, "test", binary, must_not_read, fill) == first
    binary.write_bytes(b"two")
    os.utime(binary, ns=(1, 1))  # another build at the same path
    second = cached_copy(tmp_path, "test", binary, lambda: "two", fill)
    assert second != first and (second / "server").read_bytes() == b"two"


def test_sweep_removes_folders_of_dead_owners_only(tmp_path):
    dead = tmp_path / (DIR_PREFIX + "dead")
    dead.mkdir()
    proc = subprocess.Popen(["true"])
    proc.wait()
    (dead / OWNER_FILE).write_text(str(proc.pid))
    alive = tmp_path / (DIR_PREFIX + "alive")
    alive.mkdir()
    (alive / OWNER_FILE).write_text(str(os.getpid()))
    foreign = tmp_path / (DIR_PREFIX + "foreign")
    foreign.mkdir()
    assert sweep_stale(tmp_path) == [dead]
    assert alive.exists() and foreign.exists() and not dead.exists()


def test_redis_starts_with_many_databases_and_stops(shm_dir):
    import redis

    server = start_redis(tmp_dir=shm_dir)
    try:
        client = redis.Redis.from_url(server.url.rsplit("/", 1)[0] + "/255")
        assert client.ping() is True  # database 255 exists: 256 of them
        client.close()
        config = (server.work_dir / "redis.conf").read_text()  # CONFIG is disabled
        assert 'save ""' in config.splitlines() and "appendonly no" in config.splitlines()
    finally:
        server.stop()
    assert server.process.poll() is not None
    assert not server.work_dir.exists()


def test_embedded_run_end_to_end(project):
    """No DATABASE_URL: the plugin starts its own server, and stops it after the run."""
    project.server_url = None
    project.write_test(
        "test_ok",
        """
        from sqlalchemy import text

        def test_ok(db_session):
            assert db_session.execute(text("SELECT count(*) FROM items")).scalar() == 0
        """,
    )
    result = project.run("-n", "2")
    result.assert_outcomes(passed=1)
    line = next(line for line in result.outlines if "(embedded, binaries " in line)
    binaries = Path(line.split("(embedded, binaries ")[1].split(",")[0])
    assert (binaries / "postgres").is_file(), line
    port = int(line.split("127.0.0.1:")[1].split("/")[0])
    data_dir = Path(line.split(", data ")[1].split(")")[0])
    assert data_dir.name.startswith(DIR_PREFIX)
    assert not data_dir.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", connect_timeout=2)
    ready = next(line for line in result.outlines if line.startswith("pgstack: ready in"))
    assert "pytest start-up" in ready and "(postgres started meanwhile)" in ready, ready


def test_the_header_says_no_server_started_when_the_run_found_one(project):
    """A server from DATABASE_URL (or `pgstack up`) did not boot during pytest's start-up."""
    project.write_test("test_ok", "def test_ok(db_connection):\n    pass\n")
    result = project.run("-n", "0")
    result.assert_outcomes(passed=1)
    ready = next(line for line in result.outlines if line.startswith("pgstack: ready in"))
    assert "pytest start-up" in ready and "meanwhile" not in ready, ready


NORMAL_USER = "pgstack-tester"
_PROBE = """
import os, pwd, sys
from pathlib import Path
from pgstack.servers.postgres import start_postgres
import psycopg

server = start_postgres(tmp_dir=Path(sys.argv[1]))
try:
    with psycopg.connect(server.url) as conn:
        conn.execute("SELECT 1")
    owner = pwd.getpwuid(os.stat(f"/proc/{server.process.pid}").st_uid).pw_name
    print("server-owner", owner, "me", pwd.getpwuid(os.geteuid()).pw_name)
finally:
    server.stop()
print("data-left", server.data_dir.exists())
"""


def _importable_copy(target: Path) -> Path:
    """pgstack and the packages it imports, copied where any account can read them."""
    import importlib.util
    import shutil

    site = target / "site"
    for name in ("pgstack", "psycopg", "psycopg_binary", "sqlalchemy", "typing_extensions"):
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            shutil.copytree(origin.parent, site / name, ignore=shutil.ignore_patterns("*.pyc"))
        else:
            shutil.copy2(origin, site / origin.name)
        libs = origin.parent.parent / f"{name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, site / libs.name)
    for path in [target, *target.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644 | (path.stat().st_mode & 0o111))
    return site


def test_embedded_server_as_a_normal_user(shm_dir):
    """Run by a normal account, the server runs as that account (no user switch)."""
    import sys

    if os.geteuid() != 0:  # this whole suite is the normal-user path; prove it here too
        server = start_postgres(tmp_dir=shm_dir)
        try:
            assert _owner_of(server.process.pid) == pwd.getpwuid(os.geteuid()).pw_name
        finally:
            server.stop()
        return
    try:
        pwd.getpwnam(NORMAL_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", NORMAL_USER], check=True)
    site = _importable_copy(shm_dir / "py")
    python = "/usr/bin/python3.11" if Path("/usr/bin/python3.11").exists() else sys.executable
    work = shm_dir / "clusters"
    work.mkdir()
    work.chmod(0o1777)  # like /dev/shm: pgstack refuses a shared folder without the sticky bit
    result = subprocess.run(
        ["runuser", "-u", NORMAL_USER, "--", python, "-c", _PROBE, str(work)],
        env={"PYTHONPATH": str(site), "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"server-owner {NORMAL_USER} me {NORMAL_USER}" in result.stdout
    assert "data-left False" in result.stdout


def test_an_embedded_run_with_fsync_on_is_not_taken_for_an_outside_server(project):
    """The run exports DATABASE_URL itself while it starts; the safety rule for outside
    servers must not then judge pgstack's own embedded server (fsync = on looks durable)."""
    project.server_url = None
    conf = project.path / "postgres.conf"
    conf.write_text("fsync = on\n")
    conf.chmod(0o644)
    project.path.chmod(0o755)
    pyproject = project.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'postgres_conf = "postgres.conf"\n')
    project.write_test(
        "test_ok",
        """
        def test_ok(db_connection):
            assert db_connection.execute("SHOW fsync").fetchone()[0] == "on"
        """,
    )
    result = project.run("-n", "2")
    result.assert_outcomes(passed=1)
