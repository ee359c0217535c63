"""The stack ``pgstack up`` leaves running, so test runs skip server start and migrations.

One stack per project folder. Its servers are detached (they outlive the command), their
coordinates are in ``state.json`` in a folder derived from the project's path, and test
runs of that project use them when no ``DATABASE_URL`` is set. The template is built at
``up`` and reused by every run while the schema's hash holds; ``pgstack down`` stops the
servers and deletes their folders.
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

from pgstack.servers.process import pid_running
from pgstack.settings import Settings

STATE_PREFIX = "pgstack-up-"
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class UpState:
    """What a test run needs to find the stack, and ``down`` to stop it."""

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
    """``<tmp_dir>/pgstack-up-<hash of the project folder>``: one stack per project."""
    key = hashlib.sha256(str(settings.project_dir).encode()).hexdigest()[:12]
    return Path(settings.tmp_dir) / f"{STATE_PREFIX}{key}"


def load(settings: Settings) -> UpState | None:
    """The recorded stack, alive or not; None when ``up`` never ran (or ``down`` did)."""
    try:
        return UpState(**json.loads((state_dir(settings) / "state.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None


def running(settings: Settings) -> UpState | None:
    """The recorded stack if its servers still run."""
    state = load(settings)
    return state if state is not None and state.alive() else None


@contextlib.contextmanager
def locked(settings: Settings) -> Iterator[Path]:
    """One ``up``/``down`` at a time per project."""
    folder = state_dir(settings)
    folder.mkdir(mode=0o755, exist_ok=True)
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield folder


def start(settings: Settings) -> tuple[UpState, bool]:
    """Start the stack, or return the running one; True when this call started it."""
    from pgstack.servers.postgres import start_postgres
    from pgstack.servers.redis import start_redis

    with locked(settings) as folder:
        current = load(settings)
        if current is not None and current.alive():
            return current, False
        if current is not None:
            _remove(current)  # a stack whose servers died (reboot, kill): start afresh
        tmp_dir = Path(settings.tmp_dir)
        postgres = start_postgres(
            tmp_dir=tmp_dir,
            pg_bin=settings.path(settings.pg_bin),
            conf_file=settings.path(settings.postgres_conf),
            timeout=settings.ready_timeout,
            detach=True,
        )
        redis = None
        try:
            if settings.redis and settings.redis_url is None:
                redis = start_redis(
                    tmp_dir=tmp_dir,
                    redis_bin=settings.path(settings.redis_bin),
                    timeout=settings.ready_timeout,
                    detach=True,
                )
        except BaseException:
            postgres.stop()
            raise
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
        tmp = folder / "state.json.tmp"
        tmp.write_text(json.dumps(asdict(state), indent=2))
        os.replace(tmp, folder / "state.json")
        return state, True


def stop(settings: Settings) -> UpState | None:
    """Stop the stack's servers and delete everything it had; None if there was none."""
    folder = state_dir(settings)
    if not folder.is_dir():
        return None
    with locked(settings):
        state = load(settings)
        if state is not None:
            _remove(state)
    shutil.rmtree(folder, ignore_errors=True)
    return state


def _remove(state: UpState) -> None:
    _terminate(state.postgres_pid, signal.SIGINT)  # PostgreSQL's fast shutdown
    if state.redis_pid is not None:
        _terminate(state.redis_pid, signal.SIGTERM)
    for folder in (state.postgres_dir, state.redis_dir):
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


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
