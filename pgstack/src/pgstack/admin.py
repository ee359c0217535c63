"""Admin connections: autocommit, short connect timeout, errors that name the server."""

from __future__ import annotations

import hashlib

import psycopg

from pgstack import urls
from pgstack.diagnose import diagnose
from pgstack.errors import ServerNotReady, ServerRefused

LOCK_NAMESPACE = 0x7067  # "pg": first key of every pgstack advisory lock


def connect(url: str, *, application_name: str = "pgstack") -> psycopg.Connection:
    try:
        return psycopg.connect(
            url, autocommit=True, connect_timeout=10, application_name=application_name
        )
    except psycopg.OperationalError as exc:
        message = " ".join(str(exc).split()).rstrip(".")
        found = diagnose(message, url)
        error = ServerRefused if found.final else ServerNotReady
        raise error(
            f"Cannot connect to PostgreSQL at {urls.describe(url)}: {message}. {found.advice}"
        ) from exc


def lock_key(name: str) -> int:
    """A stable signed 32-bit key for an advisory lock named ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)


def server_version(conn: psycopg.Connection) -> int:
    return int(conn.info.server_version)
