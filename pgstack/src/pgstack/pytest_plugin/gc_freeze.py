"""Freeze what the imports and collection made (the app, its models, the test modules) out
of the garbage collector's reach (``gc.freeze``; the ``gc_freeze`` setting, on by default).

Each full collection during the tests, and the five that pytest runs at its exit, would
otherwise walk that whole heap again: about a fifth of the example backend suite's CPU.
Objects made later, by tests and fixtures, are collected as usual, and frozen ones are
still freed when nothing refers to them: only reference cycles made before the tests start
stay in memory.
"""

from __future__ import annotations

import gc

import pytest

from pgstack.pytest_plugin.state import STATE_KEY


def pytest_sessionstart(session: pytest.Session) -> None:
    _freeze(session.config)  # the controller, which collects nothing under xdist


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    _freeze(session.config)  # and the test modules, once collected


def _freeze(config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is not None and state.settings is not None and state.settings.gc_freeze:
        gc.freeze()
