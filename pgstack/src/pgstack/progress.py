"""A live line while a template builds: a project with hundreds of migrations takes a minute,
and a minute of silence looks like a hang.

The template build opens a ``Progress``; the migrators (their subprocesses' output lines, in
``shell_commands``; each SQL file) feed it through ``note``, without knowing who shows it.
After a quiet first moment it reports, every few seconds, how long the build has run and the
migrator's latest line: on a terminal one line rewritten in place, elsewhere (CI logs) a new
line every ``LOG_EVERY`` seconds.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

QUIET_FIRST = 2.0  # seconds: quick builds print nothing extra
TERMINAL_EVERY = 0.5
LOG_EVERY = 10.0

# The builds in progress, innermost last (a stack, not a context variable: the migrators'
# output is read in threads of their own).
_building: list[Progress] = []


class StreamReport:
    """Where progress goes: a stream, looked up at each write (pytest swaps ``sys.stderr``
    while it captures); on a terminal the live line is rewritten in place. ``around``
    wraps each write (pytest: its output capture suspended)."""

    def __init__(
        self,
        stream: Callable[[], TextIO],
        around: Callable[[], contextlib.AbstractContextManager[object]] = contextlib.nullcontext,
    ) -> None:
        self.stream = stream
        self.around = around
        with around():
            self.live = stream().isatty()

    def __call__(self, text: str, *, final: bool) -> None:
        with self.around():
            stream = self.stream()
            if self.live:
                stream.write("\r\x1b[K" + text + ("\n" if final else ""))
            else:
                stream.write(text + "\n")
            stream.flush()


class Progress:
    """What one template build has done so far."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.started = time.monotonic()
        self.last = ""
        self.shown = False
        self.done = threading.Event()

    def note(self, line: str) -> None:
        text = " ".join(line.split())
        if text:
            self.last = text

    def text(self) -> str:
        seconds = time.monotonic() - self.started
        latest = f", last: {self.last[:120]}" if self.last else ""
        return f"pgstack: {self.what}: {seconds:.0f} s{latest}"

    def tick(self, report: StreamReport) -> None:
        """Until ``done``: report now and then (the ticker thread)."""
        if self.done.wait(QUIET_FIRST):
            return
        every = TERMINAL_EVERY if report.live else LOG_EVERY
        while True:
            report(self.text(), final=False)
            self.shown = True
            if self.done.wait(every):
                return


@contextlib.contextmanager
def reporting(what: str, report: StreamReport | None) -> Iterator[Progress]:
    """Collect the block's ``note``s and, given ``report``, show its progress."""
    progress = Progress(what)
    ticker = None
    if report is not None:
        ticker = threading.Thread(target=progress.tick, args=(report,), daemon=True)
        ticker.start()
    _building.append(progress)
    ok = False
    try:
        yield progress
        ok = True
    finally:
        _building.remove(progress)
        progress.done.set()
        if ticker is not None:
            ticker.join()
        if report is not None and progress.shown:
            seconds = time.monotonic() - progress.started
            report(f"pgstack: {what}: {'done' if ok else 'failed'} in {seconds:.1f} s", final=True)


def note(line: str) -> None:
    """A migrator's output line, for the build in progress (if any)."""
    innermost = _building[-1:]  # one read: the build may end meanwhile
    if innermost:
        innermost[0].note(line)
