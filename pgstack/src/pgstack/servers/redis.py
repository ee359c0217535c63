"""A throwaway Redis: no persistence, one logical database per xdist worker."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen

from pgstack.errors import ServerStartFailed
from pgstack.servers import process
from pgstack.servers.binaries import find_redis_server
from pgstack.wait import wait_until

DATABASES = 256
_PORT_ATTEMPTS = 4


@dataclass
class EmbeddedRedis:
    binary: Path
    work_dir: Path
    port: int
    process: Popen[bytes]
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        process.stop(self.process)
        shutil.rmtree(self.work_dir, ignore_errors=True)


def start_redis(
    *, tmp_dir: Path, redis_bin: Path | None = None, timeout: float = 30.0
) -> EmbeddedRedis:
    binary = find_redis_server(redis_bin)
    work_dir = Path(tempfile.mkdtemp(prefix="pgstack-redis-", dir=tmp_dir))
    last = ""
    try:
        for _ in range(_PORT_ATTEMPTS):
            port = process.free_port()
            log_path = work_dir / "server.log"
            proc = process.spawn(
                [
                    binary,
                    "--port", str(port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--databases", str(DATABASES),
                    "--dir", work_dir,
                    "--daemonize", "no",
                ],
                log_path=log_path,
            )  # fmt: skip
            server = EmbeddedRedis(binary, work_dir, port, proc)
            try:
                wait_for_redis(
                    server.url,
                    timeout=timeout,
                    what=f"Embedded Redis at 127.0.0.1:{port} ({binary})",
                    fix="See the server log above; set PGSTACK_REDIS_BIN to try another binary.",
                    give_up=lambda proc=proc, log=log_path: process.exit_reason(proc, log),
                )
                return server
            except Exception as exc:
                process.stop(proc)
                last = process.tail(log_path)
                if "already in use" in last:
                    log_path.unlink(missing_ok=True)
                    continue
                raise ServerStartFailed(str(exc)) from exc
        raise ServerStartFailed(f"Embedded Redis could not bind a free port: {last}")
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise


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
