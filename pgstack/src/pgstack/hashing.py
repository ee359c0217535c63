"""One fingerprint of everything that shapes the template's schema."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

_SKIP_DIRS = {"__pycache__", ".git", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    found = []
    for child in sorted(path.rglob("*")):
        if any(part in _SKIP_DIRS for part in child.relative_to(path).parts):
            continue
        if child.is_file() and child.suffix not in _SKIP_SUFFIXES:
            found.append(child)
    return found


def fingerprint(paths: Iterable[Path], *, base: Path, extra: Iterable[str] = ()) -> str:
    """sha256 over names and contents of the files (folders are walked), plus ``extra``.

    Names are taken relative to ``base`` (the project folder), so two checkouts of the same
    commit share a template. A missing path still counts by name: creating it changes it.
    """
    base = base.resolve()
    digest = hashlib.sha256()
    for item in extra:
        digest.update(b"extra\0" + item.encode() + b"\0")
    for root in sorted({Path(p).resolve() for p in paths}):
        label = root.relative_to(base) if root.is_relative_to(base) else Path(root.name)
        digest.update(b"root\0" + str(label).encode() + b"\0")
        for file in _files(root):
            name = file.relative_to(root) if root.is_dir() else file.name
            digest.update(b"file\0" + str(name).encode())
            digest.update(b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()
