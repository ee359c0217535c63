"""Liveness and the app's own Redis wiring."""

from __future__ import annotations

import os

import pytest
from app.core.cache import get_redis

pytestmark = [pytest.mark.api, pytest.mark.integration]


def test_health(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_app_redis_is_this_workers_database(redis_client):
    app_redis = get_redis()
    assert app_redis.connection_pool.connection_kwargs["db"] == int(
        os.environ["REDIS_URL"].rsplit("/", 1)[1]
    )
    app_redis.set("from-app", "1")
    assert redis_client.get("from-app") == b"1"
