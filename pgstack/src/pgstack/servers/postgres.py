"""A throwaway PostgreSQL cluster on tmpfs: initdb, start, wait for a real query, stop, delete.

The cluster uses the project's test settings file (the same one the compose ``db`` service
mounts) and listens on 127.0.0.1 on a free port. As root it runs as an unprivileged
account. If the process that started it dies, the server stops with it, and the next
start sweeps the folder it left behind.

Nobody else gets in: the cluster lives in pgstack's private folder (``pgstack.private_dirs``),
its Unix socket in the cluster's own 0700 folder (trust there reaches only us and the
server's account), and TCP asks for a password (scram-sha-256), a new random one per
cluster, set over that socket once the server answers.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pgstack import disk_full
from pgstack.accounts import RunAs, unprivileged_account
from pgstack.connect_errors import explain
from pgstack.errors import ServerRefused, ServerStartFailed
from pgstack.private_dirs import base_dir, create_file, open_lock
from pgstack.servers import process
from pgstack.servers.binaries import find_postgres_bin, reachable_bin
from pgstack.servers.process import EmbeddedServer, ServerProcess, Waiter
from pgstack.wait import wait_until

SUPERUSER = "postgres"
DIR_PREFIX = "pgstack-pg-"
OWNER_FILE = process.OWNER_FILE  # where a cluster folder names the pid that owns it
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


@dataclass
class EmbeddedPostgres(EmbeddedServer):
    """An embedded cluster; ``url`` points at its ``postgres`` database."""

    bin_dir: Path = Path()
    run_as: RunAs | None = None
    password: str = ""

    @property
    def data_dir(self) -> Path:
        return self.work_dir

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/postgres"


def start_postgres(
    *,
    tmp_dir: Path,
    pg_bin: Path | None = None,
    conf_file: Path | None = None,
    timeout: float = 30.0,
    wait: bool = True,
    detach: bool = False,
) -> EmbeddedPostgres:
    """Copy a pristine cluster under ``tmp_dir`` and start it.

    With ``wait=False`` it returns as soon as the server process is spawned (its URL is
    already known), so the caller can do other work while PostgreSQL starts; call
    ``wait_ready`` before using it.
    """
    base = base_dir(tmp_dir)
    sweep_stale(base)
    run_as = unprivileged_account()
    bin_dir = reachable_bin(find_postgres_bin(pg_bin), run_as, base)
    data_dir = Path(tempfile.mkdtemp(prefix=DIR_PREFIX, dir=base))
    process.write_owner(data_dir)
    pgdata = data_dir / "data"
    try:
        if run_as is not None:
            os.chown(data_dir, run_as.uid, run_as.gid)
        _copy_cluster(_initdb_cache(bin_dir, run_as, base), pgdata, run_as)
        if conf_file is not None:
            _append_settings(pgdata, conf_file)
    except BaseException:
        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    password = secrets.token_urlsafe(24)
    server = ServerProcess(
        label=f"Embedded PostgreSQL (data {pgdata})",
        argv=lambda port: [
            bin_dir / "postgres",
            "-D",
            pgdata,
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={data_dir}",
            "-c",
            "logging_collector=off",
        ],
        url=lambda port: _socket_url(data_dir, port),
        waiter=_ready_with_password(password),
        log_path=data_dir / "server.log",
        fix="See the server log above; set PGSTACK_PG_BIN to try other binaries.",
        run_as=run_as,
        env=_clean_env(),
        detach=detach,
    )
    embedded = EmbeddedPostgres(data_dir, server, bin_dir=bin_dir, run_as=run_as, password=password)
    embedded._spawn(wait, timeout)
    return embedded


def _socket_url(data_dir: Path, port: int) -> str:
    """The cluster's Unix socket (in its private folder), where we log in before TCP can."""
    return f"postgresql://{SUPERUSER}@/postgres?host={quote(str(data_dir))}&port={port}"


def _ready_with_password(password: str) -> Waiter:
    """Wait for the server on its socket, then give the superuser this cluster's password."""

    def wait(url: str, **kwargs: Any) -> None:
        wait_for_postgres(url, **kwargs)
        _set_password(url, password)

    return wait


def _set_password(url: str, password: str) -> None:
    """Send a SCRAM verifier computed here, so the password itself never reaches the
    server (nor its log, whatever log_statement says)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        verifier = conn.pgconn.encrypt_password(
            password.encode(), SUPERUSER.encode(), b"scram-sha-256"
        )
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(SUPERUSER), sql.Literal(verifier.decode())
            )
        )


def _initdb_cache(bin_dir: Path, run_as: RunAs | None, base: Path) -> Path:
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
            _initdb(bin_dir, staging / "data", run_as, staging / "pwfile")
            with open(staging / "data" / "postgresql.conf", "a", encoding="utf-8") as conf:
                conf.write(f"\n# --- pgstack: a throwaway cluster ---\n{THROWAWAY_SETTINGS}")
            os.rename(staging / "data", cache)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return cache


def _copy_cluster(source: Path, pgdata: Path, run_as: RunAs | None) -> None:
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


def _initdb(bin_dir: Path, pgdata: Path, run_as: RunAs | None, pwfile: Path) -> None:
    result = process.run_tool(
        [bin_dir / "initdb", "-D", pgdata, *_INITDB_ARGS, f"--pwfile={pwfile}"],
        run_as=run_as,
        env=_clean_env(),
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


def _append_settings(pgdata: Path, conf_file: Path) -> None:
    """Copy the shared test settings into the cluster's config (a copy: the unprivileged
    account may not be able to read the project folder)."""
    try:
        text = conf_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ServerStartFailed(
            f"Cannot read the PostgreSQL test settings file {conf_file}: {exc}. "
            "Fix [tool.pgstack] postgres_conf (or PGSTACK_POSTGRES_CONF)."
        ) from exc
    with open(pgdata / "postgresql.conf", "a", encoding="utf-8") as conf:
        conf.write(f"\n# --- appended by pgstack from {conf_file} ---\n{text}\n")


def wait_for_postgres(
    url: str,
    *,
    timeout: float,
    what: str,
    fix: str,
    give_up: Callable[[], str | None] | None = None,
    url_env: str = "DATABASE_URL",
) -> None:
    """Wait until ``SELECT 1`` succeeds on ``url``; a refused login or a missing database
    ends the wait at once (see ``pgstack.connect_errors``)."""
    import psycopg

    def probe() -> None:
        try:
            # A short timeout per attempt: something that accepts the connection and never
            # answers (a process squatting on the port) must not eat the whole deadline.
            with psycopg.connect(url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError as exc:
            message = " ".join(str(exc).split()).rstrip(".")
            found = explain(message, url, url_env)
            if found.final:
                raise ServerRefused(f"{what}: {message}. {found.advice}") from exc
            if found.kind == "starting":
                raise ConnectionError(f"{message}. {found.advice}") from exc
            raise

    wait_until(probe, timeout=timeout, what=what, fix=fix, give_up=give_up)


def _clean_env() -> dict[str, str]:
    """The server must not inherit PG* variables meant for clients (PGDATA, PGPORT, …)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


def sweep_stale(base: Path) -> list[Path]:
    """Delete cluster folders whose owning process is gone (a run killed with -9)."""
    return process.sweep_dead(base, DIR_PREFIX, "data/postmaster.pid")
