"""One bounded wait used for every "is it up yet?" question.

An open TCP port is not a ready server, so probes run a real query. Every wait has a
deadline and, when it runs out, says what it waited for and the last error it saw.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from pgstack.errors import PgstackError, ServerNotReady

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T],
    *,
    timeout: float,
    what: str,
    fix: str,
    interval: float = 0.02,
    give_up: Callable[[], str | None] | None = None,
) -> T:
    """Call ``probe`` until it returns without raising; return its result.

    ``give_up`` is asked between attempts; a string it returns (e.g. "the server process
    exited") ends the wait at once instead of at the deadline. A probe that raises a
    ``PgstackError`` has found something waiting cannot fix: it propagates at once.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            return probe()
        except PgstackError:
            raise
        except Exception as exc:
            last_error = exc
        reason = give_up() if give_up is not None else None
        if reason is not None:
            raise ServerNotReady(
                f"{what} is not ready: {reason} (last error: {_one_line(last_error)}). {fix}"
            ) from last_error
        if time.monotonic() >= deadline:
            raise ServerNotReady(
                f"{what} not ready after {timeout:g} s (last error: {_one_line(last_error)}). {fix}"
            ) from last_error
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


def _one_line(exc: BaseException | None) -> str:
    if exc is None:
        return "none"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
