"""Run a project's SQL file (init script, migration, seed) and say where it failed.

A file is sent whole, so it may hold many statements, dollar-quoted bodies and comments;
on error the message names the file and the line the server points at. Its text comes
from the snapshot that was hashed into the template's name, never from a second read.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import psycopg

from pgstack import progress
from pgstack.errors import MigrationFailed, TemplateInputsChanged
from pgstack.hashing import Snapshot

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


def read_sql(file: Path, snapshot: Snapshot, *, what: str) -> str:
    """The text ``file`` had when it was hashed; a file that is not UTF-8 is named with
    the offset of its first bad byte (the server would reject or garble it)."""
    data = snapshot.read(file)
    if data is None:
        if file.exists():
            raise TemplateInputsChanged.during_build(what, f"{file} appeared after hashing")
        raise MigrationFailed(f"{what} {file} not found. Create it, or stop naming it.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MigrationFailed(
            f"{what} {file} is not UTF-8: byte {exc.start} (0x{data[exc.start]:02x}, counting "
            "from 0) is not valid UTF-8. Save the file as UTF-8 and run again."
        ) from exc


def transaction_for(conn: psycopg.Connection, text: str) -> AbstractContextManager[object]:
    """A transaction around a file, unless its first line opts out (``NO_TRANSACTION``)."""
    first = text.split("\n", 1)[0].strip()
    return nullcontext() if first.startswith(NO_TRANSACTION) else conn.transaction()


def run_sql(conn: psycopg.Connection, file: Path, text: str, *, what: str, fix: str) -> None:
    """Execute ``text`` (the content of ``file``); a failure raises MigrationFailed with
    file and line."""
    progress.note(f"{file.name}")
    try:
        conn.execute(text)  # a file is trusted project SQL
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
