"""Signal → exit: how long an interrupted `pytest -n 2` run takes to clean up and end.

`docker stop` kills 10 s after its SIGTERM, so this is the margin pgstack's cleanup has.
Each mode interrupts a run whose two tests sleep, on embedded servers:

    python benchmarks/signals.py [--repeat N]      (make bench-signals)
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PYPROJECT = '[tool.pgstack]\nmigrator = "none"\nredis = false\n'
TESTS = """\
import os
import time
from pathlib import Path


def _wait(name):
    Path(os.environ["READY_DIR"], name).touch()
    time.sleep(120)


def test_one(db_session):
    _wait("one")


def test_two(db_session):
    _wait("two")
"""

MODES: dict[str, Callable[[subprocess.Popen[bytes]], None]] = {
    "Ctrl-C (SIGINT to the group)": lambda p: os.killpg(p.pid, signal.SIGINT),
    "kill -INT (controller only)": lambda p: p.send_signal(signal.SIGINT),
    "docker stop / kill (SIGTERM, controller only)": lambda p: p.send_signal(signal.SIGTERM),
    "SIGTERM to the group (systemd, tini -g)": lambda p: os.killpg(p.pid, signal.SIGTERM),
}


def interrupt_once(project: Path, send: Callable[[subprocess.Popen[bytes]], None]) -> float:
    ready = project / "ready"
    for stale in ready.iterdir():
        stale.unlink()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", "-n", "2"],
        cwd=project,
        env=dict(os.environ, READY_DIR=str(ready)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group, like a terminal's foreground job
        # SIGINT at its default, as in a terminal, even when this ran as `nohup … &`.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    while len(list(ready.iterdir())) < 2:
        if proc.poll() is not None:
            sys.exit(f"the run ended before its tests started (exit {proc.returncode})")
        time.sleep(0.02)
    start = time.monotonic()
    send(proc)
    proc.wait()
    elapsed = time.monotonic() - start
    if proc.returncode != 2:
        sys.exit(f"expected exit 2 (interrupted), got {proc.returncode}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pgstack-bench-signals-") as tmp:
        project = Path(tmp)
        (project / "pyproject.toml").write_text(PYPROJECT)
        (project / "test_wait.py").write_text(TESTS)
        (project / "ready").mkdir()
        print("| signal | median | max | runs |\n|---|---|---|---|")
        for mode, send in MODES.items():
            times = [interrupt_once(project, send) for _ in range(args.repeat)]
            median, worst = statistics.median(times), max(times)
            print(f"| {mode} | {median:.2f} s | {worst:.2f} s | {args.repeat} |", flush=True)


if __name__ == "__main__":
    main()
