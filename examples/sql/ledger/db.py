"""Connections come from DATABASE_URL, like in most psycopg services."""

from __future__ import annotations

import os

import psycopg
from psycopg_pool import ConnectionPool


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("DATABASE_URL is not set")
    return url


def connect() -> psycopg.Connection:
    return psycopg.connect(database_url())


def make_pool(size: int = 10) -> ConnectionPool:
    return ConnectionPool(database_url(), min_size=size, max_size=size, open=True)
