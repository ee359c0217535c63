"""pytest plugin used only by benchmarks/run.py: records when tests start and end.

Each process appends "<event> <time>" lines to $PGSTACK_BENCH_OUT.
"""

from __future__ import annotations

import os
import time

_seen: list[str] = []


def _record(event: str) -> None:
    with open(os.environ["PGSTACK_BENCH_OUT"], "a", encoding="utf-8") as out:
        out.write(f"{event} {time.time():.6f}\n")


def pytest_runtest_setup(item) -> None:
    if not _seen:
        _seen.append(item.nodeid)
        _record("first")


def pytest_runtest_teardown(item, nextitem) -> None:
    if nextitem is None:
        _record("last")
