"""One fingerprint of everything that shapes the template's schema."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Snapshot:
    """The files under some paths, each read once.

    A file saved while the template is being built must not end up in a template named
    after its old content: the bytes that are hashed are the bytes that run.
    """

    # (resolved root, its files in hashing order with their bytes)
    roots: tuple[tuple[Path, tuple[tuple[Path, bytes], ...]], ...]
    _by_path: dict[Path, bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_path = {file.resolve(): data for _, files in self.roots for file, data in files}
        object.__setattr__(self, "_by_path", by_path)

    @classmethod
    def take(cls, paths: Iterable[Path]) -> Snapshot:
        roots = sorted({Path(p).resolve() for p in paths})
        read = tuple((root, tuple((f, f.read_bytes()) for f in _files(root))) for root in roots)
        return cls(read)

    def subset(self, paths: Iterable[Path]) -> Snapshot:
        """The snapshot of ``paths`` from the bytes already read (a path this one never
        read is read now): a template derived from another hashes the same bytes."""
        held = dict(self.roots)
        roots = sorted({Path(p).resolve() for p in paths})
        held.update(Snapshot.take(root for root in roots if root not in held).roots)
        return Snapshot(tuple((root, held[root]) for root in roots))

    def paths(self) -> set[Path]:
        return set(self._by_path)

    def read(self, path: Path) -> bytes | None:
        """The bytes ``path`` had when the snapshot was taken; None if it was not there."""
        return self._by_path.get(path.resolve())


def fingerprint(paths: Iterable[Path] | Snapshot, *, base: Path, extra: Iterable[str] = ()) -> str:
    """sha256 over names and contents of the files (folders are walked), plus ``extra``.

    Names are taken relative to ``base`` (the project folder), so two checkouts of the same
    commit share a template. A missing path still counts by name: creating it changes it.
    """
    snapshot = paths if isinstance(paths, Snapshot) else Snapshot.take(paths)
    base = base.resolve()
    digest = hashlib.sha256()
    for item in extra:
        digest.update(b"extra\0" + item.encode() + b"\0")
    for root, files in snapshot.roots:
        label = root.relative_to(base) if root.is_relative_to(base) else Path(root.name)
        digest.update(b"root\0" + str(label).encode() + b"\0")
        for file, data in files:
            name = file.name if file == root else file.relative_to(root)
            digest.update(b"file\0" + str(name).encode())
            digest.update(b"\0" + data + b"\0")
    return digest.hexdigest()


def shown(path: Path, project_dir: Path) -> str:
    """``path`` relative to the project when it lies inside it (for messages)."""
    project_dir = project_dir.resolve()
    return str(path.relative_to(project_dir) if path.is_relative_to(project_dir) else path)
