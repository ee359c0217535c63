"""Child server processes that die with us and leave their output where errors can quote it."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from pgstack.accounts import RunAs
from pgstack.errors import ServerStartFailed

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Ask Linux to stop the server when the process that started it dies (even by kill -9)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGINT)


class _UserArgs(TypedDict, total=False):
    """The keyword arguments of Popen/run that switch to the server account."""

    user: int
    group: int
    extra_groups: list[int]


def _as_user(run_as: RunAs | None) -> _UserArgs:
    if run_as is None:
        return {}
    return {"user": run_as.uid, "group": run_as.gid, "extra_groups": []}


def spawn(
    argv: Sequence[str | os.PathLike[str]],
    *,
    log_path: Path,
    run_as: RunAs | None = None,
    env: dict[str, str] | None = None,
    detach: bool = False,
) -> subprocess.Popen[bytes]:
    """Start a long-running server with stdout+stderr going to ``log_path``.

    A server dies with us, unless ``detach``: then it gets its own session and outlives
    us (``pgstack up``), and ``pgstack down`` stops it. Either way it is outside our
    process group, so Ctrl-C in the terminal reaches pytest, not the server: pytest's
    cleanup still needs it to drop the run's databases, then stops it.
    """
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [str(part) for part in argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=None if detach else _die_with_parent,  # noqa: PLW1509 - PDEATHSIG
            start_new_session=detach,
            process_group=None if detach else 0,
            env=env,
            **_as_user(run_as),
        )


def run_tool(
    argv: Sequence[str | os.PathLike[str]],
    *,
    run_as: RunAs | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """Run a short tool (initdb, …); return the result, the caller decides what failure means."""
    return subprocess.run(
        [str(part) for part in argv],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
        **_as_user(run_as),
    )


def stop(
    process: subprocess.Popen[bytes], *, sig: int = signal.SIGINT, timeout: float = 15.0
) -> None:
    """Ask the server to shut down; kill it if it does not within ``timeout``."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def exit_reason(process: subprocess.Popen[bytes], log_path: Path) -> str | None:
    """None while the process runs; once it exited, its code and the end of its log."""
    code = process.poll()
    if code is None:
        return None
    return f"the server process exited with code {code}; its log ends with:\n{tail(log_path)}"


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "  (no log)"
    return "\n".join("  | " + line for line in text.splitlines()[-lines:])


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now; the caller retries if someone takes it before the server binds."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pid_running(pid: int) -> bool:
    """Alive and not a zombie: a server that exited but was not reaped yet is gone."""
    if not pid_alive(pid):
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (not Linux): trust the signal probe
    return state != "Z"


Waiter = Callable[..., None]


@dataclass
class ServerProcess:
    """A server started on a free loopback port, re-spawned if another process took the port
    between our pick and its bind. ``spawn`` returns at once; ``wait_ready`` proves it."""

    label: str  # "Embedded PostgreSQL", for messages
    argv: Callable[[int], Sequence[str | os.PathLike[str]]]  # command line for a port
    url: Callable[[int], str]  # probe URL for a port
    waiter: Waiter  # wait_for_postgres / wait_for_redis
    log_path: Path
    fix: str
    run_as: RunAs | None = None
    env: dict[str, str] | None = None
    detach: bool = False
    attempts: int = 4
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def spawn(self) -> None:
        self.port = free_port()
        self.log_path.unlink(missing_ok=True)
        self.process = spawn(
            self.argv(self.port),
            log_path=self.log_path,
            run_as=self.run_as,
            env=self.env,
            detach=self.detach,
        )

    def wait_ready(self, timeout: float) -> None:
        for attempt in range(1, self.attempts + 1):
            proc = self.process
            assert proc is not None, "spawn() first"
            try:
                self.waiter(
                    self.url(self.port),
                    timeout=timeout,
                    what=f"{self.label} at 127.0.0.1:{self.port}",
                    fix=self.fix,
                    give_up=lambda proc=proc: exit_reason(proc, self.log_path),
                )
                return
            except Exception as exc:
                stop(proc)
                if "already in use" in tail(self.log_path) and attempt < self.attempts:
                    self.spawn()
                    continue
                raise ServerStartFailed(str(exc)) from exc

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


@dataclass
class EmbeddedServer:
    """A server of ours: its process and the folder it lives in, both gone after ``stop``."""

    work_dir: Path
    server: ServerProcess
    _stopped: bool = field(default=False, init=False, repr=False)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def process(self) -> subprocess.Popen[bytes]:
        assert self.server.process is not None, "not spawned"
        return self.server.process

    def wait_ready(self, timeout: float) -> None:
        """Block until the server answers a real request (the port may change if taken)."""
        try:
            self.server.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Shut down, then delete the folder: nothing is left behind."""
        if self._stopped:
            return
        self._stopped = True
        self.server.stop()
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def _spawn(self, wait: bool, timeout: float) -> None:
        try:
            self.server.spawn()
        except BaseException:
            self.stop()
            raise
        if wait:
            self.wait_ready(timeout)
