"""The servers ``pgstack up`` leaves running, so test runs skip server start and migrations.

One PostgreSQL (and Redis, unless off) per project folder. The servers are detached (they
outlive the command); their coordinates (with their passwords) are in ``state.json`` in a
folder derived from the project's path, inside pgstack's private folder
(``pgstack.private_dirs``), and test runs of that project use them when no ``DATABASE_URL``
is set. The template is built at ``up`` and reused by every run while the schema's hash
holds; ``pgstack down`` stops the servers and deletes their folders.

``down`` trusts the state only as far as it can check it: it deletes folders inside the
private folder only, and signals a pid only once ``/proc`` shows it is the server it
started (its account, its working folder inside the recorded server folder).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from pgstack import private_dirs
from pgstack.accounts import unprivileged_account
from pgstack.errors import ForeignUpState
from pgstack.servers.folders import runs_in
from pgstack.servers.postgres import DIR_PREFIX as POSTGRES_DIRS
from pgstack.servers.process import pid_running
from pgstack.servers.redis import DIR_PREFIX as REDIS_DIRS
from pgstack.servers.start import start_servers
from pgstack.settings import Settings

STATE_PREFIX = "pgstack-up-"
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class UpState:
    """What a test run needs to find the servers, and ``down`` to stop them."""

    project_dir: str
    postgres_url: str
    postgres_pid: int
    postgres_dir: str
    redis_url: str | None
    redis_pid: int | None
    redis_dir: str | None
    started_at: float

    def alive(self) -> bool:
        return pid_running(self.postgres_pid) and (
            self.redis_pid is None or pid_running(self.redis_pid)
        )


def state_dir(settings: Settings) -> Path:
    """``<private folder>/pgstack-up-<hash of the project folder>``: one per project."""
    key = hashlib.sha256(str(settings.project_dir).encode()).hexdigest()[:12]
    return private_dirs.base_dir(settings.tmp_dir) / f"{STATE_PREFIX}{key}"


def load(settings: Settings) -> UpState | None:
    """The recorded servers, alive or not; None when ``up`` never ran (or ``down`` did).

    A state file that is not ours (a symlink, another owner, open permissions) is refused
    with ``UnsafeFolder``, never read.
    """
    folder = state_dir(settings)
    if not os.path.lexists(folder):
        return None
    try:
        private_dirs.check_private_dir(folder)
        text = private_dirs.read_file(folder / "state.json")
    except FileNotFoundError:
        return None
    try:
        return UpState(**json.loads(text))
    except (ValueError, TypeError):
        return None


def running(settings: Settings) -> UpState | None:
    """The recorded servers if they still run."""
    state = load(settings)
    return state if state is not None and state.alive() else None


@contextlib.contextmanager
def locked(settings: Settings) -> Iterator[Path]:
    """One ``up``/``down`` at a time per project."""
    folder = state_dir(settings)
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    private_dirs.check_private_dir(folder)
    with private_dirs.open_lock(folder / "lock") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield folder


def start(settings: Settings) -> tuple[UpState, bool]:
    """Start the servers, or return the running ones; True when this call started them."""
    with locked(settings) as folder:
        current = load(settings)
        if current is not None and current.alive():
            return current, False
        if current is not None:
            _remove(current, folder.parent)  # its servers died (reboot, kill): start afresh
        servers = start_servers(
            settings,
            postgres=True,
            redis=settings.redis and settings.redis_url is None,
            wait=True,
            detach=True,
        )
        postgres, redis = servers.postgres, servers.redis
        assert postgres is not None
        state = UpState(
            project_dir=str(settings.project_dir),
            postgres_url=postgres.url,
            postgres_pid=postgres.process.pid,
            postgres_dir=str(postgres.work_dir),
            redis_url=redis.url if redis is not None else None,
            redis_pid=redis.process.pid if redis is not None else None,
            redis_dir=str(redis.work_dir) if redis is not None else None,
            started_at=time.time(),
        )
        private_dirs.write_atomically(folder / "state.json", json.dumps(asdict(state), indent=2))
        return state, True


def stop(settings: Settings) -> UpState | None:
    """Stop the servers and delete everything they had; None if none were recorded.

    Raises ``ForeignUpState`` (after cleaning what is provably ours) when the state
    names a process or folder that is not one of its servers.
    """
    folder = state_dir(settings)
    if not folder.is_dir():
        return None
    with locked(settings):
        state = load(settings)
        left_alone = _remove(state, folder.parent) if state is not None else []
    shutil.rmtree(folder, ignore_errors=True)
    if left_alone:
        raise ForeignUpState(
            f"The `pgstack up` state in {folder} named things that are not its servers'; "
            "pgstack down left them alone and removed the state:\n"
            + "\n".join(f"  - {item}" for item in left_alone)
            + "\nNothing else is needed; if you did not edit that file, another process "
            "did: check who can write to your tmp folder."
        )
    return state


def _server_account() -> int:
    """The uid our servers run as: the unprivileged account as root, else ourselves."""
    account = unprivileged_account()
    return account.uid if account is not None else os.geteuid()


def _remove(state: UpState, base: Path) -> list[str]:
    """Stop and delete what is provably the servers'; describe what was left alone."""
    left_alone: list[str] = []
    uid = _server_account()
    servers = [
        ("PostgreSQL", state.postgres_pid, state.postgres_dir, POSTGRES_DIRS, signal.SIGINT),
        ("Redis", state.redis_pid, state.redis_dir, REDIS_DIRS, signal.SIGTERM),
    ]
    for label, pid, folder, prefix, sig in servers:
        if not folder:
            continue
        if not private_dirs.is_child(base, folder, prefix):
            left_alone.append(
                f"{label} folder {folder}: not a {prefix}* server folder in pgstack's folder {base}"
            )
            continue
        if pid is not None and pid_running(pid):
            if runs_in(pid, Path(folder), uid):
                _terminate(pid, sig)
            else:
                left_alone.append(
                    f"{label} pid {pid}: not the server started in {folder} (another "
                    "account's process, or another program)"
                )
        shutil.rmtree(folder, ignore_errors=True)
    return left_alone


def _terminate(pid: int, sig: int) -> None:
    """Signal a detached server and wait for it to go; SIGKILL after ``STOP_TIMEOUT``."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + STOP_TIMEOUT
    while pid_running(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.02)
