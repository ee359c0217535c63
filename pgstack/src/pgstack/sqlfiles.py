"""Run a project's SQL file (init script, migration, seed) and say where it failed.

A file is sent whole, so it may hold many statements, dollar-quoted bodies and comments;
on error the message names the file and the line the server points at.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import psycopg

from pgstack.errors import MigrationFailed

NO_TRANSACTION = "-- pgstack: no-transaction"
_NUMBER = re.compile(r"(\d+)")


def sql_files(paths: list[Path]) -> list[Path]:
    """Files as given, folders expanded to their ``*.sql`` files, in natural order."""
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(path.glob("*.sql"), key=natural_key) if path.is_dir() else [path])
    return found


def natural_key(path: Path) -> list[object]:
    """``2_x.sql`` before ``10_x.sql``: numbers compare as numbers."""
    return [int(part) if part.isdigit() else part for part in _NUMBER.split(path.name)]


def transaction_for(conn: psycopg.Connection, file: Path) -> AbstractContextManager[object]:
    """A transaction around the file, unless its first line opts out (``NO_TRANSACTION``)."""
    with file.open(encoding="utf-8") as handle:
        first = handle.readline().strip()
    return nullcontext() if first.startswith(NO_TRANSACTION) else conn.transaction()


def run_sql_file(conn: psycopg.Connection, file: Path, *, what: str, fix: str) -> None:
    """Execute ``file`` on ``conn``; a failure raises MigrationFailed with file and line."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise MigrationFailed(f"{what} {file} cannot be read: {exc}. {fix}") from exc
    try:
        conn.execute(text)  # type: ignore[arg-type]  # a file is trusted project SQL
    except psycopg.Error as exc:
        line = _error_line(text, exc)
        where = f"{file}, line {line}" if line else str(file)
        raise MigrationFailed(
            f"{what} {where} failed: {' '.join(str(exc).split())}. {fix}"
        ) from exc


def _error_line(text: str, exc: psycopg.Error) -> int | None:
    position = getattr(exc.diag, "statement_position", None) if exc.diag else None
    if not position:
        return None
    return text[: int(position) - 1].count("\n") + 1
