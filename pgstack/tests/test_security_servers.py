"""Issue 14: another local account must not get into the embedded servers, nor into the
files pgstack keeps in the shared tmp folder, nor trick ``pgstack down``.

Every attack runs as a real second account (``intruder``) against real servers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
from conftest import Project, assert_nothing_ran, cli, output
from intruder import Intruder
from pgstack.errors import PgstackError
from pgstack.servers import scram
from pgstack.servers.postgres import EmbeddedPostgres, start_postgres
from pgstack.servers.process import pid_running
from pgstack.servers.redis import EmbeddedRedis, start_redis

pytestmark = [pytest.mark.reliability, pytest.mark.security]

# AUTH with the right password, then the attack of a root Redis: point its dump at
# another folder. Prints the first line of each reply.
_REDIS_AUTH_THEN_CONFIG = r"""
import socket, sys
port, password = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
f = s.makefile("rb")
for command in (f"AUTH {password}", "CONFIG SET dir /tmp", "DEBUG SLEEP 0", "MODULE LIST"):
    s.sendall(command.encode() + b"\r\n")
    print(f.readline().decode(errors="replace").strip())
"""


def _owner(pid: int) -> int:
    return os.stat(f"/proc/{pid}").st_uid


def _base(tmp_dir: Path) -> Path:
    """pgstack's private folder in ``tmp_dir`` (computed here, as an attacker would)."""
    return tmp_dir / f"pgstack-{os.geteuid()}"


def _up_key(project: Project) -> str:
    """The name part of a project's `pgstack up` folder, computable by anyone."""
    return hashlib.sha256(str(project.path.resolve()).encode()).hexdigest()[:12]


@pytest.fixture
def shared_tmp(shm_dir: Path) -> Path:
    """A tmp folder like /dev/shm: every account may create entries (mode 1777)."""
    folder = shm_dir / "shared"
    folder.mkdir()
    folder.chmod(0o1777)
    return folder


@pytest.fixture
def up_project(project: Project, shared_tmp: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PGSTACK_TMP_DIR", str(shared_tmp))
    project.server_url = None
    yield project
    cli(project, "down")


@pytest.fixture
def root_sleep():
    """A root process that no `pgstack down` may kill."""
    proc = subprocess.Popen(["sleep", "600"])
    yield proc
    proc.kill()
    proc.wait()


# --- 1. Redis ---------------------------------------------------------------------------


def test_intruder_redis_ping_gets_noauth(redis_server: EmbeddedRedis, intruder: Intruder):
    answer = intruder.redis_command(redis_server.port, "PING")
    assert answer.startswith("-NOAUTH"), answer


def test_intruder_with_the_password_cannot_config_debug_or_module(
    redis_server: EmbeddedRedis, intruder: Intruder
):
    password = getattr(redis_server, "password", "none-today")
    done = intruder.python_code(_REDIS_AUTH_THEN_CONFIG, str(redis_server.port), password)
    replies = done.stdout.splitlines()
    assert len(replies) == 4, done.stdout + done.stderr
    for reply in replies[1:]:
        assert reply.startswith("-ERR unknown command"), replies
    assert replies[0] == "+OK", replies


def test_redis_does_not_run_as_root_and_hides_its_password(redis_server: EmbeddedRedis):
    assert _owner(redis_server.process.pid) != 0
    cmdline = Path(f"/proc/{redis_server.process.pid}/cmdline").read_bytes()
    assert redis_server.url.startswith("redis://:") and redis_server.password
    assert redis_server.password.encode() not in cmdline


# --- 2. PostgreSQL ----------------------------------------------------------------------


def test_intruder_postgres_login_over_tcp_asks_for_a_password(
    pg_server: EmbeddedPostgres, intruder: Intruder
):
    assert intruder.postgres_login("127.0.0.1", pg_server.port) == "password"
    assert intruder.postgres_login("127.0.0.1", pg_server.port, "pgstack") == "password"


def test_each_cluster_has_its_own_password_and_the_log_never_sees_it(shm_dir: Path):
    first = start_postgres(tmp_dir=shm_dir)
    second = start_postgres(tmp_dir=shm_dir)
    try:
        assert first.password and second.password and first.password != second.password
        wrong = second.url.replace(second.password, first.password)
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(wrong, connect_timeout=5).close()
        with psycopg.connect(second.url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            (stored,) = conn.execute(
                "SELECT rolpassword FROM pg_authid WHERE rolname = current_user"
            ).fetchone()
        # pgstack's verifier (cheap logins for a random password), not libpq's 4096 rounds
        assert stored.startswith(f"SCRAM-SHA-256${scram.ITERATIONS}:"), stored
        assert first.password not in first.server.log_path.read_text()
    finally:
        first.stop()
        second.stop()


# --- 3. pgstack's own files -------------------------------------------------------------


def test_intruder_cannot_read_anything_pgstack_made(up_project: Project, intruder: Intruder):
    started = cli(up_project, "up", "--no-template")
    assert started.returncode == 0, started.stderr
    tmp = Path(os.environ["PGSTACK_TMP_DIR"])
    made = [p for p in tmp.rglob("*") if len(p.relative_to(tmp).parts) <= 4]
    assert any(p.name == "state.json" for p in made), made
    assert any(p.name.startswith("pgstack-initdb-") for p in made), made
    readable = []
    for path in made:
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            continue
        probe = ("ls", str(path)) if path.is_dir() else ("cat", str(path))
        if intruder.run(*probe).returncode == 0:
            readable.append(str(path))
    assert readable == [], readable


@pytest.mark.parametrize("plant", ["folder", "symlink"])
def test_a_base_folder_planted_by_another_account_is_refused(
    shared_tmp: Path, intruder: Intruder, plant: str
):
    base = _base(shared_tmp)
    if plant == "folder":
        done = intruder.run("mkdir", "-m", "0777", str(base))
    else:
        done = intruder.run("ln", "-s", "/root", str(base))
    assert done.returncode == 0, done.stderr
    with pytest.raises(PgstackError) as refused:
        start_postgres(tmp_dir=shared_tmp).stop()
    message = str(refused.value)
    expected = "belongs to another account" if plant == "folder" else "is a symlink"
    assert str(base) in message and expected in message, message
    assert "PGSTACK_TMP_DIR" in message, message


def test_doctor_fails_on_a_base_folder_planted_by_another_account(
    project: Project, shared_tmp: Path, intruder: Intruder
):
    base = _base(shared_tmp)
    done = intruder.run("mkdir", "-m", "0777", str(base))
    assert done.returncode == 0, done.stderr
    result = cli(project, "doctor", env={"PGSTACK_TMP_DIR": str(shared_tmp)})
    text = result.stdout + result.stderr
    assert result.returncode != 0, text
    assert str(base) in text and "belongs to another account" in text, text
    assert "Traceback" not in text, text


def test_a_tmp_folder_others_can_write_without_sticky_bit_is_refused(shm_dir: Path):
    open_tmp = shm_dir / "open"
    open_tmp.mkdir()
    open_tmp.chmod(0o777)
    with pytest.raises(PgstackError, match="sticky bit") as refused:
        start_redis(tmp_dir=open_tmp).stop()
    assert str(open_tmp) in str(refused.value)


def test_an_initdb_cache_planted_at_its_old_name_is_never_used(
    shared_tmp: Path, shm_dir: Path, intruder: Intruder
):
    first = start_postgres(tmp_dir=shm_dir)
    first.stop()
    cache = next(p for p in shm_dir.rglob("pgstack-initdb-*") if p.is_dir())
    planted = shared_tmp / cache.name  # where the cache used to be: a computable name
    shutil.copytree(cache, planted, symlinks=True)
    with open(planted / "postgresql.conf", "a") as conf:
        conf.write("\nwork_mem = '7777kB'\n")
    # The intruder's files, readable by the server's account as a planted cache must be.
    subprocess.run(["chown", "-R", f"{intruder.name}:pgstack", str(planted)], check=True)
    subprocess.run(["chmod", "-R", "g+rX", str(planted)], check=True)
    planted.chmod(0o750)
    server = start_postgres(tmp_dir=shared_tmp)
    try:
        with psycopg.connect(server.url) as conn:
            assert conn.execute("SHOW work_mem").fetchone()[0] != "7777kB"
    finally:
        server.stop()


def test_a_symlink_planted_as_the_up_lock_leaves_its_target_untouched(
    up_project: Project, shared_tmp: Path, shm_dir: Path, intruder: Intruder
):
    secret = shm_dir / "root-only"
    secret.write_text("root's data\n")
    secret.chmod(0o600)
    old_state = shared_tmp / f"pgstack-up-{_up_key(up_project)}"
    assert intruder.run("mkdir", "-m", "0777", str(old_state)).returncode == 0
    assert intruder.run("ln", "-s", str(secret), str(old_state / "lock")).returncode == 0
    for args in (("up", "--no-template"), ("down",)):
        done = cli(up_project, *args)
        assert done.returncode == 0, done.stdout + done.stderr
    assert secret.read_text() == "root's data\n"


def _forged_state(folder: Path, victim: Path, pid: int) -> str:
    return json.dumps(
        {
            "project_dir": "/nowhere",
            "postgres_url": "postgresql://postgres@127.0.0.1:1/postgres",
            "postgres_pid": pid,
            "postgres_dir": str(victim),
            "redis_url": None,
            "redis_pid": pid,
            "redis_dir": str(folder),
            "started_at": 0.0,
        }
    )


def test_a_forged_state_at_its_old_name_deletes_and_kills_nothing(
    up_project: Project, shared_tmp: Path, shm_dir: Path, intruder: Intruder, root_sleep
):
    victim = shm_dir / "root-folder"
    victim.mkdir()
    (victim / "keep").write_text("root's data\n")
    old_state = shared_tmp / f"pgstack-up-{_up_key(up_project)}"
    assert intruder.run("mkdir", "-m", "0777", str(old_state)).returncode == 0
    forged = _forged_state(old_state, victim, root_sleep.pid)
    assert (
        intruder.python_code(
            "import sys; open(sys.argv[1], 'w').write(sys.argv[2])",
            str(old_state / "state.json"),
            forged,
        ).returncode
        == 0
    )
    done = cli(up_project, "down")
    assert (victim / "keep").read_text() == "root's data\n", done.stdout + done.stderr
    assert root_sleep.poll() is None, "pgstack down killed a process that is not its server"


def test_down_proves_pids_and_folders_before_touching_them(
    up_project: Project, shared_tmp: Path, shm_dir: Path, root_sleep
):
    """A state file in pgstack's own folder that names foreign things (tampered, or stale
    with a reused pid): down removes only what it can prove is the stack's, and says so."""
    victim = shm_dir / "root-folder"
    victim.mkdir()
    (victim / "keep").write_text("root's data\n")
    started = cli(up_project, "up", "--no-template")
    assert started.returncode == 0, started.stderr
    state_dir = _base(shared_tmp) / f"pgstack-up-{_up_key(up_project)}"
    state = json.loads((state_dir / "state.json").read_text())
    real_pid, real_dir = state["postgres_pid"], state["postgres_dir"]
    fake_dir = _base(shared_tmp) / "pgstack-redis-forged"
    fake_dir.mkdir()
    # Redis entry: a folder that looks like ours with a pid that is not our server;
    # PostgreSQL entry: a folder outside pgstack's, with the real server's pid.
    state.update(redis_pid=root_sleep.pid, redis_dir=str(fake_dir), postgres_dir=str(victim))
    (state_dir / "state.json").write_text(json.dumps(state))
    done = cli(up_project, "down")
    text = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in text, text
    assert f"pid {root_sleep.pid}: not the server" in text, text
    assert f"{victim}: not a pgstack-pg-* server folder" in text, text
    assert (victim / "keep").read_text() == "root's data\n"
    assert root_sleep.poll() is None
    assert not fake_dir.exists()  # provably ours by place and name: removed
    # The real server was not proven through the forged entry, so it still runs; its own
    # state is gone, so stop it here.
    os.kill(real_pid, signal.SIGINT)
    shutil.rmtree(real_dir, ignore_errors=True)


def test_a_state_file_that_is_a_symlink_is_refused(up_project: Project, shared_tmp: Path):
    started = cli(up_project, "up", "--no-template")
    assert started.returncode == 0, started.stderr
    state_file = _base(shared_tmp) / f"pgstack-up-{_up_key(up_project)}" / "state.json"
    real = state_file.with_name("real.json")
    os.replace(state_file, real)
    state_file.symlink_to(real)
    done = cli(up_project, "status")
    text = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in text, text
    assert f"{state_file} is a symlink" in text, text
    os.replace(real, state_file)  # give the fixture's `down` its real state back


# --- 4. leftovers after kill -9 ---------------------------------------------------------


def test_a_postmaster_killed_with_9_leaves_no_dev_shm_segments(shm_dir: Path):
    server = start_postgres(tmp_dir=shm_dir)
    maps = Path(f"/proc/{server.process.pid}/maps").read_text()
    assert "/pg_dynshmem/" in maps, "dynamic shared memory must live in the cluster folder"
    segments = {line.split()[-1] for line in maps.splitlines() if "/dev/shm/PostgreSQL." in line}
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()
    server.stop()
    left = sorted(path for path in segments if Path(path).exists())
    assert left == [], f"segments of the killed postmaster stay in /dev/shm: {left}"


_REDIS_OWNER = """
import sys, time
from pathlib import Path
from pgstack.servers.redis import start_redis
server = start_redis(tmp_dir=Path(sys.argv[1]))
print(server.work_dir, server.process.pid, flush=True)
time.sleep(600)
"""


def test_the_next_start_sweeps_the_folder_of_a_redis_killed_with_9(shm_dir: Path):
    import sys

    owner = subprocess.Popen(
        [sys.executable, "-c", _REDIS_OWNER, str(shm_dir)], stdout=subprocess.PIPE, text=True
    )
    line = owner.stdout.readline().split()
    assert len(line) == 2, line
    folder, server_pid = Path(line[0]), int(line[1])
    os.kill(server_pid, signal.SIGKILL)
    owner.kill()
    owner.wait()
    deadline = time.monotonic() + 30
    while pid_running(server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_running(server_pid) and folder.exists()
    server = start_redis(tmp_dir=shm_dir)
    server.stop()
    assert not folder.exists(), f"the dead Redis's folder {folder} was not swept"


def test_a_run_refuses_an_unsafe_tmp_folder_clearly(project: Project, shm_dir: Path):
    open_tmp = shm_dir / "open"
    open_tmp.mkdir()
    open_tmp.chmod(0o777)
    project.server_url = None
    project.write_test("test_ok", "def test_ok(db_session):\n    pass\n")
    result = project.run(env={"PGSTACK_TMP_DIR": str(open_tmp)})
    assert_nothing_ran(result)
    text = output(result)
    assert "without the sticky bit" in text and str(open_tmp) in text, text
    assert "INTERNALERROR" not in text and "Traceback" not in text, text
    assert list(open_tmp.iterdir()) == []  # nothing made in a folder others can change
