"""A throwaway Redis: no persistence, one logical database per xdist worker."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen

from pgstack.servers.binaries import find_redis_server
from pgstack.servers.process import ServerProcess
from pgstack.wait import wait_until

DATABASES = 256


@dataclass
class EmbeddedRedis:
    binary: Path
    work_dir: Path
    server: ServerProcess
    _stopped: bool = field(default=False, repr=False)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def process(self) -> Popen[bytes]:
        assert self.server.process is not None
        return self.server.process

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def wait_ready(self, timeout: float) -> None:
        try:
            self.server.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.server.stop()
        shutil.rmtree(self.work_dir, ignore_errors=True)


def start_redis(
    *, tmp_dir: Path, redis_bin: Path | None = None, timeout: float = 30.0, wait: bool = True
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
    )
    embedded = EmbeddedRedis(binary, work_dir, server)
    try:
        server.spawn()
    except BaseException:
        embedded.stop()
        raise
    if wait:
        embedded.wait_ready(timeout)
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
