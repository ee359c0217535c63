"""The app under test, with some of its dependencies replaced for one test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from app.main import app
from fastapi.testclient import TestClient


@contextmanager
def app_client(overrides: dict[Callable[..., Any], Callable[..., Any]]) -> Iterator[TestClient]:
    """A TestClient whose dependencies in ``overrides`` are replaced; restored after."""
    app.dependency_overrides.update(overrides)
    try:
        with TestClient(app) as client:
            yield client
    finally:
        app.dependency_overrides.clear()
