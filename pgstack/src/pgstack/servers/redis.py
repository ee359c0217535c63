"""A throwaway Redis: no persistence, one logical database per xdist worker."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from pgstack.servers.binaries import find_redis_server
from pgstack.servers.process import EmbeddedServer, ServerProcess
from pgstack.wait import wait_until

DATABASES = 256


@dataclass
class EmbeddedRedis(EmbeddedServer):
    binary: Path = Path()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def start_redis(
    *,
    tmp_dir: Path,
    redis_bin: Path | None = None,
    timeout: float = 30.0,
    wait: bool = True,
    detach: bool = False,
) -> EmbeddedRedis:
    """Start redis-server with no persistence; ``wait=False`` returns once it is spawned."""
    binary = find_redis_server(redis_bin)
    work_dir = Path(tempfile.mkdtemp(prefix="pgstack-redis-", dir=tmp_dir))
    server = ServerProcess(
        label=f"Embedded Redis ({binary})",
        argv=lambda port: [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--databases",
            str(DATABASES),
            "--dir",
            work_dir,
            "--daemonize",
            "no",
        ],
        url=lambda port: f"redis://127.0.0.1:{port}/0",
        waiter=wait_for_redis,
        log_path=work_dir / "server.log",
        fix="See the server log above; set PGSTACK_REDIS_BIN to try another binary.",
        detach=detach,
    )
    embedded = EmbeddedRedis(work_dir, server, binary=binary)
    embedded._spawn(wait, timeout)
    return embedded


def wait_for_redis(url: str, *, timeout: float, what: str, fix: str, give_up=None) -> None:
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
