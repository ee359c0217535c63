"""pgstack's own folder inside the tmp folder: private to the account, checked on every use.

Everything pgstack makes there (clusters, Redis folders, the initdb cache, the copied
PostgreSQL install, the ``pgstack up`` state) lives in ``<tmp_dir>/pgstack-<euid>``. The
tmp folder is shared (``/dev/shm`` is world-writable), so names there are computable:
another account could create the folder first, or plant symlinks and forged files in it.
We therefore accept the folder only when ``lstat`` shows a real directory owned by us that
nobody else can write (nor list), and open files inside with ``O_NOFOLLOW``.

Why not ``$XDG_RUNTIME_DIR`` (``/run/user/<uid>``)? It is private by design, but small
(10% of RAM by default, while a cluster plus the initdb cache take ~100 MB), root usually
has none, and it is 0700: as root the server account could not reach its cluster there.
A checked folder of our own inside the tmpfs keeps the speed of ``/dev/shm`` and works
for root and normal accounts alike.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from pgstack.accounts import unprivileged_account
from pgstack.errors import UnsafeFolder

BASE_PREFIX = "pgstack-"
_FIX = (
    "Remove it if it is not yours to keep, or point pgstack's tmp folder at a folder of "
    "your own (PGSTACK_TMP_DIR, or tmp_dir in [tool.pgstack])."
)


def base_dir(tmp_dir: Path) -> Path:
    """Our private folder inside ``tmp_dir``, created if missing, refused if not ours.

    As root the servers run as an unprivileged account, which must traverse this folder
    to its own cluster folders: then it is ours, group = that account's group, mode 0710.
    """
    _check_tmp_dir(tmp_dir)
    base = tmp_dir / f"{BASE_PREFIX}{os.geteuid()}"
    with contextlib.suppress(FileExistsError):
        os.mkdir(base, 0o700)
    check_private_dir(base)
    if os.geteuid() == 0:
        account = unprivileged_account()
        assert account is not None  # we are root
        fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            os.fchown(fd, -1, account.gid)
            os.fchmod(fd, 0o710)
        finally:
            os.close(fd)
    return base


def _check_tmp_dir(tmp_dir: Path) -> None:
    """Others may write to the tmp folder only if the sticky bit keeps our entries ours."""
    try:
        info = tmp_dir.stat()
    except OSError as exc:
        raise UnsafeFolder(
            f"pgstack's tmp folder {tmp_dir} cannot be used: {exc.strerror}. Create it, or "
            "point pgstack's tmp folder at another (PGSTACK_TMP_DIR, or tmp_dir in "
            "[tool.pgstack])."
        ) from exc
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeFolder(f"pgstack's tmp folder {tmp_dir} is not a folder. {_FIX}")
    if info.st_uid not in (0, os.geteuid()):
        raise UnsafeFolder(
            f"pgstack's tmp folder {tmp_dir} belongs to another account (uid {info.st_uid}), "
            f"which could replace what pgstack keeps there. {_FIX}"
        )
    others_write = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if others_write and not info.st_mode & stat.S_ISVTX:
        raise UnsafeFolder(
            f"pgstack's tmp folder {tmp_dir} is writable by other accounts without the "
            f"sticky bit (mode {stat.filemode(info.st_mode)}): they could rename or "
            f"replace pgstack's folder in it. Use chmod +t {tmp_dir}, or point pgstack's "
            "tmp folder at a folder of your own (PGSTACK_TMP_DIR, or tmp_dir in "
            "[tool.pgstack])."
        )


def check_private_dir(path: Path) -> None:
    """Refuse ``path`` unless it is a real directory of ours nobody else writes or lists."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise UnsafeFolder(f"{path} cannot be checked: {exc.strerror}. {_FIX}") from exc
    problem = _not_private(info, directory=True)
    if problem:
        raise UnsafeFolder(f"{path} {problem}: pgstack keeps servers and passwords there. {_FIX}")


def _not_private(info: os.stat_result, *, directory: bool) -> str | None:
    """What is wrong with a path pgstack must trust, or None."""
    kind = "directory" if directory else "file"
    is_kind = stat.S_ISDIR if directory else stat.S_ISREG
    if stat.S_ISLNK(info.st_mode):
        return "is a symlink, not a real " + kind
    if not is_kind(info.st_mode):
        return "is not a " + kind
    if info.st_uid != os.geteuid():
        return f"belongs to another account (uid {info.st_uid}, we are uid {os.geteuid()})"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH | stat.S_IROTH):
        return f"is open to other accounts (mode {stat.filemode(info.st_mode)})"
    return None


def create_file(path: Path, text: str, *, owner: tuple[int, int] | None = None) -> None:
    """Write a new 0600 file: never through a symlink, never over an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        if owner is not None:
            os.fchown(fd, *owner)
        with os.fdopen(fd, "w", encoding="utf-8", closefd=False) as out:
            out.write(text)
    finally:
        os.close(fd)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with a new 0600 file in one step (readers see old or new, whole)."""
    staging = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    staging.unlink(missing_ok=True)
    create_file(staging, text)
    os.replace(staging, path)


def read_file(path: Path) -> str:
    """The text of a file of ours; FileNotFoundError when missing, UnsafeFolder when the
    file is a symlink, another account's, or writable by others."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if os.path.islink(path):
            raise UnsafeFolder(f"{path} is a symlink, not a real file. {_FIX}") from exc
        raise
    with os.fdopen(fd, encoding="utf-8") as source:
        problem = _not_private(os.fstat(source.fileno()), directory=False)
        if problem:
            raise UnsafeFolder(f"{path} {problem}: pgstack will not trust it. {_FIX}")
        return source.read()


@contextlib.contextmanager
def open_lock(path: Path) -> Iterator[IO[str]]:
    """A lock file of ours, opened (created 0600 if missing) without following symlinks."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if os.path.islink(path):
            raise UnsafeFolder(f"{path} is a symlink, not a lock file. {_FIX}") from exc
        raise
    with os.fdopen(fd, "r+", encoding="utf-8") as lock:
        problem = _not_private(os.fstat(lock.fileno()), directory=False)
        if problem:
            raise UnsafeFolder(f"{path} {problem}: pgstack will not use it as a lock. {_FIX}")
        yield lock


def is_child(base: Path, path: str | os.PathLike[str], prefix: str) -> bool:
    """True when ``path`` is ``<base>/<prefix>…`` itself, symlinks resolved: nothing else
    of ours (the initdb cache, the `pgstack up` servers) and nothing outside."""
    resolved = Path(os.path.realpath(path))
    return resolved.parent == Path(os.path.realpath(base)) and resolved.name.startswith(prefix)
