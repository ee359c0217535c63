"""Migrated clusters: the cluster of a run that built its template, kept for the next run.

An embedded server is thrown away after every run, and with it the template its migrations
built (1-3 s on real projects). When a run built the template, the cluster is stopped with
only the template left in it and moved here, keyed by the template's name (the schema hash)
plus the pristine cluster it came from (binaries, account, initdb settings) and the test
settings file. The next cold run on the same schema starts from a copy of it and finds its
template ready; like any reused template it is verified before use (``pgstack.template``).

The folder is pgstack's private one (``pgstack.private_dirs``); an entry is used only when it
is a real directory owned by the server's account that nobody else can read. The cache is
bounded: after each save the oldest entries go until the rest fit in the size limit.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

PREFIX = "pgstack-migrated-"
_CONF = "postgresql.conf"


def cache_key(pristine: Path, template: str, conf_text: str) -> str:
    """Everything that decides what a migrated cluster holds, in 16 hex digits."""
    stamp = "|".join([pristine.name, template, conf_text])
    return hashlib.sha256(stamp.encode()).hexdigest()[:16]


def find(base: Path, key: str, owner_uid: int) -> Path | None:
    """The cached cluster for ``key``, or None (absent, or not provably ours and private)."""
    path = base / f"{PREFIX}{key}"
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != owner_uid or info.st_mode & 0o077:
        return None
    if not (path / "PG_VERSION").is_file():
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # most recently used: the last to go when the cache is full
    return path


def restore_conf(pgdata: Path, pristine: Path) -> None:
    """A copied cluster gets the pristine postgresql.conf back, so the project's test
    settings (appended at every start) are never there twice."""
    shutil.copyfile(pristine / _CONF, pgdata / _CONF)


def save(pgdata: Path, base: Path, key: str, limit_bytes: int) -> Path | None:
    """Move the stopped cluster ``pgdata`` into the cache as ``key`` (replacing an older
    entry: it was found stale), then shrink the cache to ``limit_bytes``. Returns the
    entry, or None when it could not be saved (the cache is only ever a speed-up)."""
    target = base / f"{PREFIX}{key}"
    with contextlib.suppress(FileNotFoundError, OSError):
        (pgdata / "postmaster.pid").unlink(missing_ok=True)
    _discard(target)
    try:
        os.rename(pgdata, target)  # same folder tree: instant, and never half there
    except OSError:
        return None
    os.utime(target)
    shrink(base, limit_bytes, keep=target)
    return target


def shrink(base: Path, limit_bytes: int, *, keep: Path | None = None) -> list[Path]:
    """Delete the least recently used entries until the cache fits in ``limit_bytes`` and
    in a quarter of its filesystem (a container's 64 MB /dev/shm must stay usable for the
    clusters themselves)."""
    disk = os.statvfs(base)
    limit_bytes = min(limit_bytes, disk.f_blocks * disk.f_frsize // 4)
    entries = sorted(
        (path for path in base.glob(f"{PREFIX}*") if path.is_dir() and not path.is_symlink()),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    removed: list[Path] = []
    total = 0
    for path in entries:
        total += _size(path)
        if total > limit_bytes and path != keep:
            _discard(path)
            removed.append(path)
    return removed


def _discard(path: Path) -> None:
    """Rename first, then delete: a run copying the entry at that moment fails its copy
    and starts from the pristine cluster, instead of getting half a cluster."""
    if not path.exists():
        return
    trash = Path(tempfile.mkdtemp(prefix="pgstack-migrated.trash-", dir=path.parent))
    with contextlib.suppress(OSError):
        os.rename(path, trash / "entry")
    shutil.rmtree(trash, ignore_errors=True)


def _size(path: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total
