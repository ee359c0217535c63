"""SIGTERM and SIGINT end a run in order, in time for `docker stop` and CI cancellation.

Ctrl-C in a terminal reaches the whole foreground group: pytest's controller and every
xdist worker get SIGINT and unwind together. SIGTERM (`docker stop`, a cancelled CI job,
`kill`) and `kill -INT` often reach the controller alone, and SIGTERM by default kills
Python on the spot, with no cleanup. Raised as KeyboardInterrupt instead, the controller
unwinds; but a worker busy in a test would only be interrupted by execnet 5 s later, while
`docker stop` kills everything 10 s after its SIGTERM. So the controller passes the
interrupt on to its workers: as SIGINT, or as SIGTERM when the run was started with SIGINT
ignored (`nohup … &`, a background job of a script), which its workers inherit.

A worker may get two signals (the group's own, then the controller's): only the first
interrupts it, so the second cannot break its cleanup half-way. The controller waits a
moment before passing the interrupt on: when two signals reach a process at the same
instant, CPython can miss waking its main thread (it then sleeps on through the test), so a
worker that got the group's signal must have handled it before the controller's arrives.
"""

from __future__ import annotations

import signal
import subprocess
import threading

import pytest

# How long the controller waits before interrupting its workers (see above).
FORWARD_DELAY = 0.3

# Controller only: the xdist workers' processes, in the order xdist started them.
_workers: list[subprocess.Popen[bytes]] = []
_forward_started = threading.Event()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_newgateway(gateway: object) -> None:
    """Remember the process of each xdist worker, so that an interrupt can reach it."""
    # execnet keeps the subprocess.Popen of a local ("popen") gateway on its io object.
    popen = getattr(getattr(gateway, "_io", None), "popen", None)
    if isinstance(popen, subprocess.Popen):
        _workers.append(popen)


def interrupt_on_signals(*, worker: bool) -> None:
    """Make SIGINT and SIGTERM raise KeyboardInterrupt, so pgstack's cleanup runs.

    Controller: both also interrupt the workers; a second SIGTERM kills at once, a second
    SIGINT interrupts again (as Python's default does). Worker: the first SIGINT or
    SIGTERM interrupts, later ones are ignored. Handlers the project installed itself are
    left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    handler = _interrupt_once if worker else _interrupt_run
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    for signum, default in defaults.items():
        if signal.getsignal(signum) is default:
            signal.signal(signum, handler)


def _interrupt_run(signum: int, frame: object) -> None:
    if signum == signal.SIGTERM:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _workers and not _forward_started.is_set():
        _forward_started.set()
        timer = threading.Timer(FORWARD_DELAY, _interrupt_workers)
        timer.daemon = True
        timer.start()
    raise KeyboardInterrupt(f"pgstack: received {signal.Signals(signum).name}")


def _interrupt_workers() -> None:
    # The workers inherited the controller's ignored SIGINT, if it started with one.
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    forward = signal.SIGTERM if ignored else signal.SIGINT
    for worker in _workers:
        # Popen reaps a finished worker first and then sends nothing: never a reused pid.
        worker.send_signal(forward)


def _interrupt_once(signum: int, frame: object) -> None:
    # A no-op handler, not SIG_IGN: the other signal may already be pending, and Python
    # raises OSError ("ignored due to race condition") for a pending signal whose handler
    # became SIG_IGN, which breaks the worker's unwinding.
    signal.signal(signal.SIGINT, _ignore)
    signal.signal(signal.SIGTERM, _ignore)
    raise KeyboardInterrupt(f"pgstack: received {signal.Signals(signum).name}")


def _ignore(signum: int, frame: object) -> None:
    """A worker already interrupted lets its cleanup finish."""
