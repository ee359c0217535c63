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

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pgstack.accounts import RunAs, unprivileged_account
from pgstack.connect_errors import explain
from pgstack.errors import ServerRefused, ServerStartFailed
from pgstack.private_dirs import base_dir
from pgstack.servers import folders, initdb, migrated_clusters, scram
from pgstack.servers.binaries import find_postgres_bin, reachable_bin
from pgstack.servers.process import EmbeddedServer, ServerProcess, Waiter
from pgstack.wait import wait_until

SUPERUSER = initdb.SUPERUSER
DIR_PREFIX = "pgstack-pg-"
OWNER_FILE = folders.OWNER_FILE  # where a cluster folder names the pid that owns it
CACHE_PREFIX = initdb.CACHE_PREFIX


@dataclass
class EmbeddedPostgres(EmbeddedServer):
    """An embedded cluster; ``url`` points at its ``postgres`` database."""

    bin_dir: Path = Path()
    run_as: RunAs | None = None
    password: str = ""
    cache_key: str | None = None  # where a migrated copy of this cluster is kept
    from_cache: bool = False  # started from a migrated cluster (its template is there)

    @property
    def data_dir(self) -> Path:
        return self.work_dir

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/postgres"

    def stop_into_cache(self, limit_bytes: int) -> Path | None:
        """Stop, then keep the cluster as the migrated cluster of its template instead of
        deleting it (only after a clean shutdown). Returns the cache entry, if saved."""
        if self._stopped or self.cache_key is None:
            self.stop()
            return None
        self._stopped = True
        self.server.stop()
        saved = None
        if self.process.returncode == 0:
            pgdata, base = self.work_dir / "data", self.work_dir.parent
            saved = migrated_clusters.save(pgdata, base, self.cache_key, limit_bytes)
        shutil.rmtree(self.work_dir, ignore_errors=True)
        return saved


def start_postgres(
    *,
    tmp_dir: Path,
    pg_bin: Path | None = None,
    conf_file: Path | None = None,
    timeout: float = 30.0,
    wait: bool = True,
    detach: bool = False,
    template: str | None = None,
) -> EmbeddedPostgres:
    """Copy a pristine cluster under ``tmp_dir`` and start it.

    Given the name of the ``template`` the run will use, it starts from the migrated
    cluster a previous run left for that template, when there is one
    (``pgstack.servers.migrated_clusters``).

    With ``wait=False`` it returns as soon as the server process is spawned (its URL is
    already known), so the caller can do other work while PostgreSQL starts; call
    ``wait_ready`` before using it.
    """
    base = base_dir(tmp_dir)
    sweep_stale(base)
    run_as = unprivileged_account()
    bin_dir = reachable_bin(find_postgres_bin(pg_bin), run_as, base)
    data_dir = Path(tempfile.mkdtemp(prefix=DIR_PREFIX, dir=base))
    folders.write_owner(data_dir)
    pgdata = data_dir / "data"
    try:
        if run_as is not None:
            os.chown(data_dir, run_as.uid, run_as.gid)
        conf_text = _read_settings(conf_file) if conf_file is not None else None
        pristine = initdb.pristine_cluster(bin_dir, run_as, base)
        cache_key = None
        if template is not None:
            cache_key = migrated_clusters.cache_key(pristine, template, conf_text or "")
        from_cache = _copy_cluster(base, pristine, cache_key, pgdata, run_as)
        if conf_file is not None and conf_text is not None:
            _append_settings(pgdata, conf_file, conf_text)
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
        env=initdb.server_env(),
        detach=detach,
    )
    embedded = EmbeddedPostgres(
        data_dir,
        server,
        bin_dir=bin_dir,
        run_as=run_as,
        password=password,
        cache_key=cache_key,
        from_cache=from_cache,
    )
    embedded._spawn(wait, timeout)
    return embedded


def _copy_cluster(
    base: Path, pristine: Path, cache_key: str | None, pgdata: Path, run_as: RunAs | None
) -> bool:
    """Copy the migrated cluster for ``cache_key`` when there is one (True), else the
    pristine one. A cached copy that fails (deleted meanwhile) falls back to pristine."""
    if cache_key is not None:
        owner_uid = run_as.uid if run_as is not None else os.geteuid()
        cached = migrated_clusters.find(base, cache_key, owner_uid)
        if cached is not None:
            try:
                initdb.copy_cluster(cached, pgdata, run_as)
                migrated_clusters.restore_conf(pgdata, pristine)
                return True
            except (ServerStartFailed, OSError):
                shutil.rmtree(pgdata, ignore_errors=True)
    initdb.copy_cluster(pristine, pgdata, run_as)
    return False


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
    """Send a SCRAM verifier computed here (``scram``: cheap logins, the password itself
    never reaches the server nor its log, whatever log_statement says)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(SUPERUSER), sql.Literal(scram.verifier(password))
            )
        )


def _read_settings(conf_file: Path) -> str:
    """The shared test settings, read once: they go into the cluster's config and into the
    migrated-cluster key."""
    try:
        return conf_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ServerStartFailed(
            f"Cannot read the PostgreSQL test settings file {conf_file}: {exc}. "
            "Fix [tool.pgstack] postgres_conf (or PGSTACK_POSTGRES_CONF)."
        ) from exc


def _append_settings(pgdata: Path, conf_file: Path, text: str) -> None:
    """Copy the shared test settings into the cluster's config (a copy: the unprivileged
    account may not be able to read the project folder)."""
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


def sweep_stale(base: Path) -> list[Path]:
    """Delete cluster folders whose owning process is gone (a run killed with -9)."""
    return folders.sweep_dead(base, DIR_PREFIX, "data/postmaster.pid")
