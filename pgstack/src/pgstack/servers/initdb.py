"""A pristine initdb'd cluster, made once per binaries and account, copied for each server.

initdb costs ~0.4 s; copying its result on tmpfs ~0.04 s. The copy is made as the server's
account, so every file of the new cluster belongs to it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from pgstack import disk_full
from pgstack.accounts import RunAs
from pgstack.errors import ServerStartFailed
from pgstack.private_dirs import create_file, open_lock
from pgstack.servers import process

SUPERUSER = "postgres"
CACHE_PREFIX = "pgstack-initdb-"
# Throwaway data on tmpfs: durability buys nothing. fsync=off is also how pgstack.target_rules
# recognises a test server when a run is pointed at this one. Written into the cluster's
# postgresql.conf, so the project's postgres_conf (appended later) can still override it.
# mmap: dynamic shared memory lives in the cluster folder (pg_dynshmem), so a postmaster
# killed with -9 leaves no /dev/shm/PostgreSQL.* segments: they go with the folder.
THROWAWAY_SETTINGS = (
    "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
    "dynamic_shared_memory_type = mmap\n"
)
_INITDB_ARGS = (
    "-U",
    SUPERUSER,
    "--auth-local=trust",  # the socket is in the cluster's private folder
    "--auth-host=scram-sha-256",
    "--encoding=UTF8",
    "--locale=C",
    "--no-sync",
    "--no-instructions",
)


def pristine_cluster(bin_dir: Path, run_as: RunAs | None, base: Path) -> Path:
    """A pristine initdb'd cluster, made once per binaries+account and copied per run.

    initdb costs ~0.4 s; copying its 40 MB result on tmpfs costs ~0.04 s. Its superuser
    password is random and thrown away after initdb: each cluster gets its own at start.
    """
    stamp = "|".join(
        [
            str(bin_dir.resolve()),
            str((bin_dir / "initdb").stat().st_mtime_ns),
            str(run_as.uid if run_as else os.geteuid()),
            " ".join(_INITDB_ARGS),
            THROWAWAY_SETTINGS,
        ]
    )
    key = hashlib.sha256(stamp.encode()).hexdigest()[:16]
    cache = base / f"{CACHE_PREFIX}{key}"
    if (cache / "PG_VERSION").is_file():
        return cache
    with open_lock(base / f"{CACHE_PREFIX}{key}.lock") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time; others reuse its result
        if (cache / "PG_VERSION").is_file():
            return cache
        staging = Path(tempfile.mkdtemp(prefix=f"{CACHE_PREFIX}{key}.", dir=base))
        try:
            owner = (run_as.uid, run_as.gid) if run_as is not None else None
            if owner is not None:
                os.chown(staging, *owner)
            create_file(staging / "pwfile", secrets.token_urlsafe(32), owner=owner)
            run_initdb(bin_dir, staging / "data", run_as, staging / "pwfile")
            with open(staging / "data" / "postgresql.conf", "a", encoding="utf-8") as conf:
                conf.write(f"\n# --- pgstack: a throwaway cluster ---\n{THROWAWAY_SETTINGS}")
            os.rename(staging / "data", cache)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return cache


def copy_cluster(source: Path, pgdata: Path, run_as: RunAs | None) -> None:
    """Copy as the server's account so every file belongs to it."""
    result = process.run_tool(["cp", "-a", source, pgdata], run_as=run_as)
    if result.returncode != 0:
        fix = f"Delete {source} to have it made again."
        if disk_full.NO_SPACE in result.stderr:
            fix = disk_full.hint(str(pgdata.parents[2]))  # the tmp folder
        raise ServerStartFailed(
            f"Could not copy the cached cluster {source} to {pgdata}: "
            f"{result.stderr.strip()}. {fix}"
        )


def run_initdb(bin_dir: Path, pgdata: Path, run_as: RunAs | None, pwfile: Path) -> None:
    result = process.run_tool(
        [bin_dir / "initdb", "-D", pgdata, *_INITDB_ARGS, f"--pwfile={pwfile}"],
        run_as=run_as,
        env=server_env(),
    )
    if result.returncode != 0:
        who = f" as user {run_as.name!r}" if run_as else ""
        reach = (
            f" As root, PostgreSQL runs as {run_as.name!r}, which must be able to reach that "
            "folder (every parent needs o+x): set PGSTACK_TMP_DIR to one it can, e.g. /dev/shm."
            if run_as
            else ""
        )
        output = (result.stderr or result.stdout).strip()
        if disk_full.NO_SPACE in output:
            raise ServerStartFailed(
                f"initdb{who} failed in {pgdata}: {disk_full.NO_SPACE}. "
                + disk_full.hint(str(pgdata.parents[2]))  # the tmp folder
            )
        raise ServerStartFailed(
            f"initdb{who} failed in {pgdata} (binaries: {bin_dir}), exit {result.returncode}:\n"
            f"{(result.stderr or result.stdout).strip()}\n"
            "Check that the folder is writable and the binaries match this machine, or set "
            f"PGSTACK_PG_BIN to another PostgreSQL installation.{reach}"
        )


def server_env() -> dict[str, str]:
    """The server must not inherit PG* variables meant for clients (PGDATA, PGPORT, …)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env
