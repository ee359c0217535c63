"""`pgstack run -- CMD`: any command (Django's ``manage.py test``, unittest, another
language's suite) with the stack around it, as a pytest run gets it.

The servers are started (or found), the template built or reused, and one database of the
run cloned from it: the command gets that clone's coordinates (``DATABASE_URL``, libpq's
``PG*``, the ``[tool.pgstack.env]`` variables, ``REDIS_URL``), never the template itself,
so what it writes goes with the run and the template stays clean for the next. Its exit
status passes through (128 + N when signal N ended it, as shells say).

Signals: the command runs in its own process group, which becomes the terminal's
foreground group while it runs (as a shell does it): Ctrl-C reaches the command once,
directly. SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to pgstack (``docker stop``, a cancelled
CI job) are passed on to the command's group; pgstack cleans up once it has exited.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from types import FrameType

from pgstack import environment, urls
from pgstack.progress import StreamReport
from pgstack.run import run_now
from pgstack.servers.process import _die_with_parent
from pgstack.settings import Settings
from pgstack.worker import open_worker

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def run_wrapped(
    settings: Settings,
    argv: Sequence[str],
    *,
    say: Callable[[str], None],
    report: StreamReport | None = None,
) -> int:
    """Run ``argv`` with the run's own database; return its exit status. ``report``: where
    a long template build shows its progress.

    The ``env_file`` is loaded first, as under pytest: the migrations and the command see
    its variables (the environment still wins)."""
    environment.load_env_file(settings.env_file)
    run = run_now(settings, report=report)
    try:
        worker = open_worker(run.plan, "main")
        try:
            plan = run.plan
            env = environment.for_command(
                plan.env, plan.database_url_env, worker.url, worker.redis_url
            )
            if worker.redis_url is not None:
                env[plan.redis_url_env] = worker.redis_url
            say(
                f"pgstack: run {plan.run_id}: PostgreSQL {urls.describe(plan.admin_url)}, "
                f"template {plan.template} ({run.template_state}); {plan.database_url_env} "
                f"names {worker.name}, a clone of it dropped after the command"
            )
            return _supervise(argv, env, say=say)
        finally:
            with _signals(lambda signum, frame: None):  # cleanup runs to its end
                worker.close()
    finally:
        with _signals(lambda signum, frame: None):
            run.close()


def _supervise(argv: Sequence[str], env: dict[str, str], *, say: Callable[[str], None]) -> int:
    """Start the command in its own process group, pass signals on until it exits."""
    terminal = _foreground_terminal()
    try:
        process = subprocess.Popen(
            list(argv),
            env=env,
            preexec_fn=lambda: _child_setup(terminal),  # noqa: PLW1509
        )
    except OSError as exc:
        say(f"pgstack run: cannot start {argv[0]!r}: {exc.strerror or exc}")
        return 127 if isinstance(exc, FileNotFoundError) else 126

    def forward(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)

    try:
        with _signals(forward):
            code = process.wait()
    finally:
        if terminal is not None:
            _take_terminal(terminal, os.getpgrp())
    return 128 - code if code < 0 else code


def _foreground_terminal() -> int | None:
    """stdin's terminal when pgstack runs in its foreground group (else nothing to hand
    over: CI, a pipe, a background job)."""
    try:
        fd = sys.stdin.fileno()
        if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
            return fd
    except (OSError, ValueError):
        pass
    return None


def _child_setup(terminal: int | None) -> None:
    """In the command's process, before exec: its own group, the terminal's foreground,
    killed if pgstack is."""
    os.setpgid(0, 0)
    if terminal is not None:
        _take_terminal(terminal, os.getpgrp())
    _die_with_parent()


def _take_terminal(fd: int, group: int) -> None:
    """Make ``group`` the terminal's foreground group (SIGTTOU ignored meanwhile: a
    background group asking would be stopped)."""
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(fd, group)
    finally:
        signal.signal(signal.SIGTTOU, previous)


@contextlib.contextmanager
def _signals(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """``handler`` for the forwarded signals inside the block; the previous ones after."""
    previous = {signum: signal.signal(signum, handler) for signum in FORWARDED}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
