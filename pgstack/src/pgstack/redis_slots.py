"""Redis logical databases per run: claimed, kept alive and released, like its Postgres ones.

Two runs on one Redis (the `pgstack up` servers, one REDIS_URL) must never share a logical
database: one run's FLUSHDB would wipe the other's keys. The controller claims one database
per worker with ``SET pgstack:slot:<index> <run id> NX PX <ttl>`` in database 0, the run's
keepalive refreshes the claims while it lives, and its end deletes them if they are still
its own. A run that dies without its end loses its claims when they expire.

The number of databases is found with ``SELECT``, not ``CONFIG GET``: CONFIG is renamed
away on our own embedded Redis and disabled on many managed ones.
"""

from __future__ import annotations

import contextlib

from pgstack import urls
from pgstack.errors import RedisClaimFailed, RedisDatabasesExhausted

SLOT_KEY = "pgstack:slot:{}"
CLAIM_TTL_MS = 60_000  # a dead run's claims free up after this; refreshed every few seconds
MAX_DATABASES = 1 << 16  # stop probing here: more than any run needs

# Free or already ours: take it and restart its time to live. Atomic in Redis.
_TAKE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
# Delete it only if it is still ours (it may have expired and gone to another run).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def database_count(url: str) -> int:
    """How many logical databases the Redis at ``url`` has (``SELECT`` probes, searched)."""
    import redis

    client = redis.Redis.from_url(url, single_connection_client=True, socket_connect_timeout=5)

    def selectable(index: int) -> bool:
        try:
            # redis-py leaves execute_command unannotated
            client.execute_command("SELECT", index)  # type: ignore[no-untyped-call]
        except redis.ResponseError:  # out of range, or not allowed for this user
            return False
        return True

    try:
        low, high = 1, 16  # ``low`` databases exist; whether ``high`` do is not known yet
        while selectable(high - 1):
            low = high
            if high >= MAX_DATABASES:
                return high
            high *= 2
        while high - low > 1:
            middle = (low + high) // 2
            if selectable(middle - 1):
                low = middle
            else:
                high = middle
        return low
    finally:
        client.close()


class RedisClaims:
    """The logical databases one run holds on one Redis server."""

    def __init__(self, url: str, run_id: str) -> None:
        self.url = url
        self.run_id = run_id
        self.indexes: list[int] = []
        self._available: int | None = None  # the server's database count, probed once
        import redis

        self._client = redis.Redis.from_url(
            urls.redis_with_database(url, 0), socket_connect_timeout=5, socket_timeout=5
        )
        self._take = self._client.register_script(_TAKE)
        self._release = self._client.register_script(_RELEASE)

    def claim(self, count: int) -> list[int]:
        """Hold at least ``count`` databases (the lowest free ones); the held indexes.

        Raises RedisDatabasesExhausted when the server has no more free ones.
        """
        import redis

        try:
            # The ones held already, in case they expired meanwhile (and went elsewhere).
            self.indexes = [index for index in self.indexes if self._hold(index)]
            if self._available is None:
                self._available = database_count(self.url)
            available = self._available
            others = 0
            for index in range(1, available):
                if len(self.indexes) >= count:
                    break
                if index in self.indexes:
                    continue
                if self._hold(index):
                    self.indexes.append(index)
                else:
                    others += 1
        except redis.RedisError as exc:
            raise RedisClaimFailed(
                f"Could not claim a logical database on Redis at {urls.describe(self.url)} "
                f"({exc}): pgstack needs SELECT and EVAL there, and database 0 for its claims "
                "(keys pgstack:slot:*). Give the user those rights, or use another Redis."
            ) from exc
        if len(self.indexes) < count:
            raise RedisDatabasesExhausted(_exhausted(self.url, available, count, others))
        return list(self.indexes)

    def _hold(self, index: int) -> bool:
        """Take database ``index`` if free, or keep it if ours; False if another run's."""
        return bool(self._take(keys=[SLOT_KEY.format(index)], args=[self.run_id, CLAIM_TTL_MS]))

    def refresh(self) -> None:
        """Restart the claims' time to live (and take back one a FLUSHALL removed)."""
        for index in self.indexes:
            self._hold(index)

    def release(self) -> None:
        """Give the databases back; a Redis that is gone took the claims with it."""
        import redis

        with contextlib.suppress(redis.RedisError):
            for index in self.indexes:
                self._release(keys=[SLOT_KEY.format(index)], args=[self.run_id])
        self.indexes.clear()
        self._client.close()


def _exhausted(url: str, available: int, count: int, others: int) -> str:
    usable = available - 1
    held = f"other runs hold {others} of them" if others else "no other run holds any"
    fewer = usable - others
    return (
        f"Redis at {urls.describe(url)} has {available} logical databases (0 stays unused), "
        f"{usable} for test runs; this run needs {count} (one per xdist worker) and {held}. "
        + (f"Run at most {fewer} worker(s) (-n {fewer}), " if fewer > 0 else "")
        + ("wait for the other runs to end, " if others else "")
        + f"or start Redis with --databases {count + others + 1} or more."
    )


def worker_slot(worker_id: str, claimed: list[int]) -> int:
    """The worker's database among the run's ``claimed`` ones: ``main`` and ``gw0`` → the
    first, ``gw1`` → the second, … (under xdist ``main`` runs no tests: it shares gw0's)."""
    position = 0
    if worker_id.startswith("gw") and worker_id[2:].isdigit():
        position = int(worker_id[2:])
    if position >= len(claimed):
        raise RedisDatabasesExhausted(
            f"Worker {worker_id} has no Redis database: the run claimed {len(claimed)} "
            "(one per xdist worker it was started with). Start the run with the number of "
            "workers it uses (-n)."
        )
    return claimed[position]


def worker_redis_url(base: str, worker_id: str, claimed: list[int]) -> str:
    """The worker's own logical database on the Redis at ``base`` (credentials kept)."""
    return urls.redis_with_database(base, worker_slot(worker_id, claimed))
