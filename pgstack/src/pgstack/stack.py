"""One run, end to end: find or start the servers, build the template, hand out databases.

``start_stack`` runs once per test run (the xdist controller, or the only process);
``open_worker`` runs in each worker. Only a ``RunPlan`` of plain values crosses between
them, through one environment variable.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg

from pgstack import admin, janitor, persistent, safety, urls
from pgstack.clone import clone_database
from pgstack.errors import CloneFailed, ConfigError, RedisDatabasesExhausted
from pgstack.fresh import FreshClones
from pgstack.health import EMBEDDED, FROM_ENV, UP
from pgstack.migrators import migrator_for
from pgstack.migrators.command import CommandMigrator
from pgstack.ownership import Marker, RunLease, new_run_id, write_marker
from pgstack.servers.postgres import EmbeddedPostgres, start_postgres, wait_for_postgres
from pgstack.servers.redis import EmbeddedRedis, start_redis, wait_for_redis
from pgstack.settings import Settings
from pgstack.template import TemplateSpec, ensure_template

if TYPE_CHECKING:
    from pgstack.redis_slots import RedisClaims

PLAN_ENV = "PGSTACK_RUN_PLAN"


@dataclass(frozen=True)
class RunPlan:
    """Plain values every worker needs; travels as JSON in ``PGSTACK_RUN_PLAN``."""

    run_id: str
    controller_pid: int
    admin_url: str = field(repr=False)  # may carry a password: never in a repr
    template: str
    prefix: str
    embedded: bool
    redis_url: str | None = field(repr=False)
    app_role: str | None
    keep_failed: bool
    database_url_env: str
    redis_url_env: str
    env: dict[str, str] = field(default_factory=dict)  # [tool.pgstack.env]
    keep: bool = False  # keep every database of the run (--pgstack-keep)
    tmp_dir: str | None = None  # where the embedded server's data lives (None: external)
    postgres_from: str = EMBEDDED  # EMBEDDED, UP or FROM_ENV
    redis_from: str = EMBEDDED
    redis_dbs: list[int] = field(default_factory=list)  # claimed for this run: gw0, gw1, …

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunPlan:
        return cls(**json.loads(text))


@dataclass
class Launch:
    """Servers spawned but not yet proven ready: URLs are known, nothing waited for."""

    settings: Settings
    spec: TemplateSpec
    run_id: str
    started: float
    external_url: str | None
    postgres: EmbeddedPostgres | None
    redis: EmbeddedRedis | None
    external_redis_url: str | None
    source: str = "embedded"  # where the server comes from, for the report header
    postgres_from: str = EMBEDDED
    redis_from: str = EMBEDDED
    redis_claims: RedisClaims | None = None  # this run's Redis databases, once claimed

    @property
    def admin_url(self) -> str:
        if self.postgres is not None:
            return self.postgres.url
        assert self.external_url is not None
        return self.external_url

    @property
    def redis_url(self) -> str | None:
        return self.redis.url if self.redis is not None else self.external_redis_url

    def abort(self) -> None:
        """Give back the run's Redis databases, stop the servers it started (none for
        external ones)."""
        if self.redis_claims is not None:
            self.redis_claims.release()
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


@dataclass
class Stack:
    """What the controller owns for the run; ``close`` leaves nothing behind."""

    plan: RunPlan
    launch: Launch
    lease: RunLease
    timings: dict[str, float] = field(default_factory=dict)
    template_built: bool = False
    collected: list[str] = field(default_factory=list)
    _closed: bool = False

    @property
    def postgres(self) -> EmbeddedPostgres | None:
        return self.launch.postgres

    def close(self) -> None:
        """Drop this run's databases (kept ones excepted), end the lease, stop servers.

        An embedded server goes as a whole, so only an external one needs the janitor.
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self.postgres is None:
                janitor.drop_run(self.lease.connection, self.plan.prefix, self.plan.run_id)
        except psycopg.OperationalError as exc:
            note_server_gone(self.plan, "drop this run's databases", exc)
        finally:
            self.lease.close()
            self.launch.abort()


def template_spec(settings: Settings) -> TemplateSpec:
    """What the template is made of, from the settings (no database work)."""
    seeder = None
    if settings.seed_command is not None:
        seeder = CommandMigrator(
            command=settings.seed_command,
            cwd=settings.path(settings.command_cwd) or settings.project_dir,
            url_env=settings.database_url_env,
            env=settings.env,
            timeout=settings.migrate_timeout,
            what="Seed command",
            name="seed",
        )
    return TemplateSpec(
        migrator=migrator_for(settings),
        init_dir=settings.path(settings.init_dir),
        schema_inputs=tuple(p for p in map(settings.path, settings.schema_inputs) if p),
        project_dir=settings.project_dir,
        prefix=settings.prefix,
        seed_files=tuple(p for p in map(settings.path, settings.seed) if p),
        seeder=seeder,
    )


@dataclass(frozen=True)
class Existing:
    """Servers a run uses instead of starting its own, and where each comes from."""

    postgres_url: str | None = None
    redis_url: str | None = None
    source: str = "embedded"  # for the report header
    postgres_from: str = EMBEDDED
    redis_from: str = EMBEDDED


def _existing_servers(settings: Settings) -> Existing:
    """Servers to use instead of starting ours: DATABASE_URL's, or the `pgstack up` stack.

    With ``keep``, the up stack is started if it is not running: kept databases need a
    server that outlives the run.
    """
    redis_from = FROM_ENV if settings.redis_url is not None else EMBEDDED
    external = settings.database_url
    if external is not None:
        source = f"external, from {settings.database_url_env}"
        return Existing(urls.libpq_url(external), settings.redis_url, source, FROM_ENV, redis_from)
    if settings.use_up or settings.keep:
        state = persistent.start(settings)[0] if settings.keep else persistent.running(settings)
        if state is not None:
            if settings.redis_url is None and state.redis_url is not None:
                redis_from = UP
            redis_url = settings.redis_url or state.redis_url
            source = f"pgstack up, {persistent.state_dir(settings)}"
            return Existing(state.postgres_url, redis_url, source, UP, redis_from)
    return Existing(redis_url=settings.redis_url, redis_from=redis_from)


def launch_stack(settings: Settings) -> Launch:
    """Spawn what must be spawned and return at once; ``finish_stack`` waits for it.

    Splitting the two lets the servers boot while pytest imports the project's conftest.
    """
    started = time.monotonic()
    tmp_dir = Path(settings.tmp_dir)
    spec = template_spec(settings)
    found = _existing_servers(settings)
    launch = Launch(
        settings, spec, new_run_id(), started, found.postgres_url, None, None, found.redis_url
    )
    launch.source = found.source
    launch.postgres_from, launch.redis_from = found.postgres_from, found.redis_from
    try:
        if found.postgres_url is None:
            launch.postgres = start_postgres(
                tmp_dir=tmp_dir,
                pg_bin=settings.path(settings.pg_bin),
                conf_file=settings.path(settings.postgres_conf),
                wait=False,
            )
        if settings.redis and launch.external_redis_url is None:
            launch.redis = start_redis(
                tmp_dir=tmp_dir, redis_bin=settings.path(settings.redis_bin), wait=False
            )
    except BaseException:
        launch.abort()
        raise
    return launch


def _wait_for_redis(launch: Launch) -> None:
    settings = launch.settings
    if launch.redis is not None:
        launch.redis.wait_ready(settings.ready_timeout)
    elif launch.external_redis_url is not None:
        wait_for_redis(
            launch.external_redis_url,
            timeout=settings.ready_timeout,
            what=f"Redis at {urls.masked(launch.external_redis_url)} "
            f"(from {settings.redis_url_env})",
            fix=f"Start it, fix the URL, or unset {settings.redis_url_env} to use "
            "an embedded Redis.",
        )


def claim_redis(launch: Launch, count: int) -> list[int]:
    """Wait for Redis and hold ``count`` logical databases for this run (none without Redis).

    The controller claims one before the conftest is imported (its own database) and the
    rest, one per xdist worker, in ``finish_stack``; the lease's keepalive refreshes them.
    """
    from pgstack.redis_slots import RedisClaims

    if not launch.settings.redis or launch.redis_url is None:
        return []
    if launch.redis_claims is None:
        _wait_for_redis(launch)
        launch.redis_claims = RedisClaims(launch.redis_url, launch.run_id)
    return launch.redis_claims.claim(count)


def finish_stack(launch: Launch, *, redis_databases: int = 1) -> Stack:
    """Wait for the servers, take the run's lease, collect leftovers, build the template.

    ``redis_databases``: how many Redis databases the run claims (one per xdist worker).
    """
    settings = launch.settings
    timings: dict[str, float] = {}
    lease: RunLease | None = None
    try:
        if launch.postgres is not None:
            launch.postgres.wait_ready(settings.ready_timeout)
        else:
            wait_for_postgres(
                launch.admin_url,
                timeout=settings.ready_timeout,
                what=f"PostgreSQL at {urls.describe(launch.admin_url)} "
                f"(from {settings.database_url_env})",
                fix=(
                    "Start it (`make up STACK=docker` starts the compose db), fix the URL, "
                    f"or unset {settings.database_url_env} to let pgstack start an embedded server."
                ),
                url_env=settings.database_url_env,
            )
        timings["postgres"] = time.monotonic() - launch.started
        redis_dbs = claim_redis(launch, max(redis_databases, 1))
        timings["redis"] = time.monotonic() - launch.started
        admin_url = launch.admin_url
        lease = RunLease(admin_url, launch.run_id)
        if launch.redis_claims is not None:
            lease.also(launch.redis_claims.refresh)
        if settings.database_url is not None:
            safety.check_target(admin_url, settings, lease.connection)
        collected: list[str] = []
        if launch.postgres is None:
            collected = janitor.collect_dead(lease.connection, settings.prefix)
        template = ensure_template(admin_url, launch.spec, run_id=launch.run_id)
        if settings.app_role is not None:  # init scripts may create it: check after them
            safety.check_app_role(lease.connection, settings.app_role, admin_url)
        timings["template"] = time.monotonic() - launch.started
        plan = RunPlan(
            run_id=launch.run_id,
            controller_pid=os.getpid(),
            admin_url=admin_url,
            template=template.name,
            prefix=settings.prefix,
            embedded=launch.postgres is not None,
            redis_url=launch.redis_url if settings.redis else None,
            app_role=settings.app_role,
            keep_failed=settings.keep_failed,
            database_url_env=settings.database_url_env,
            redis_url_env=settings.redis_url_env,
            env=settings.env,
            keep=settings.keep,
            tmp_dir=settings.tmp_dir if launch.postgres is not None else None,
            postgres_from=launch.postgres_from,
            redis_from=launch.redis_from,
            redis_dbs=redis_dbs,
        )
        return Stack(plan, launch, lease, timings, template.built, collected)
    except BaseException:
        if lease is not None:
            lease.close()
        launch.abort()
        raise


def start_stack(settings: Settings) -> Stack:
    """Find or start Postgres (and Redis), wait for them, build or reuse the template."""
    return finish_stack(launch_stack(settings))


@dataclass
class Worker:
    """One worker's databases: its own clone, its Redis database, and per-test clones."""

    plan: RunPlan
    worker_id: str
    name: str
    url: str
    redis_url: str | None
    _conn: psycopg.Connection
    _fresh: FreshClones | None = None

    def __repr__(self) -> str:
        """Without passwords: a repr lands in tracebacks and CI logs."""
        redis_url = urls.masked(self.redis_url) if self.redis_url is not None else None
        return (
            f"Worker(worker_id={self.worker_id!r}, name={self.name!r}, "
            f"url={urls.masked(self.url)!r}, redis_url={redis_url!r})"
        )

    def _clones(self) -> FreshClones:
        if self._fresh is None:
            self._fresh = FreshClones(
                admin_url=self.plan.admin_url,
                template=self.plan.template,
                run_id=self.plan.run_id,
                base_name=self.name,
            )
        return self._fresh

    def new_fresh(self) -> tuple[str, str]:
        """A new clone for one test; returns (name, url)."""
        return self._clones().take()

    def drop(self, name: str) -> None:
        """Drop a per-test clone soon (in the background); ``close`` waits for it."""
        self._clones().drop(name)

    def keep(self, name: str) -> None:
        """Mark a failed test's database so no janitor collects it."""
        write_marker(self._conn, name, Marker(kind="fresh", run=self.plan.run_id, kept=True))

    def close(self) -> None:
        errors: list[str] = []
        try:
            if self._fresh is not None:
                errors = self._fresh.close()
            if self._conn.closed:
                return
            if self.plan.keep:
                write_marker(
                    self._conn, self.name, Marker(kind="worker", run=self.plan.run_id, kept=True)
                )
            else:
                janitor.drop_owned(self._conn, self.name, run=self.plan.run_id)
        except psycopg.OperationalError as exc:
            note_server_gone(self.plan, f"drop {self.name}", exc)
            return  # the per-test clones went the same way: nothing more to report
        finally:
            self._conn.close()
        if errors:
            raise CloneFailed(
                "Some per-test databases could not be dropped (the run's end or the next "
                "run's janitor collects them): " + "; ".join(errors)
            )


def note_server_gone(plan: RunPlan, what: str, exc: BaseException) -> None:
    """At the end of a run whose server went away: say what is left, do not raise (the run
    has already failed with the reason)."""
    left = (
        "nothing is left: the embedded server's data went with it"
        if plan.embedded
        else "the next run on this server drops what this run left"
    )
    sys.stderr.write(
        f"pgstack: could not {what}: PostgreSQL at {urls.describe(plan.admin_url)} is gone "
        f"({' '.join(str(exc).split())}); {left}.\n"
    )


def worker_database(prefix: str, run_id: str, worker_id: str) -> str:
    if not worker_id.replace("_", "").isalnum():
        raise ConfigError(f"Unexpected worker id {worker_id!r}")
    return f"{prefix}_{run_id}_{worker_id}"


def redis_db_index(worker_id: str, claimed: list[int]) -> int:
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


def redis_url_for_worker(base: str, worker_id: str, claimed: list[int]) -> str:
    """The worker's own logical database on the Redis at ``base`` (credentials kept)."""
    return urls.redis_with_database(base, redis_db_index(worker_id, claimed))


def open_worker(plan: RunPlan, worker_id: str) -> Worker:
    """Clone this worker's database and pick its Redis database."""
    name = worker_database(plan.prefix, plan.run_id, worker_id)
    conn = admin.connect(plan.admin_url, application_name=f"pgstack-worker:{worker_id}")
    try:
        url = clone_database(
            conn,
            template=plan.template,
            name=name,
            marker=Marker(kind="worker", run=plan.run_id),
            admin_url=plan.admin_url,
        )
        redis_url = None
        if plan.redis_url is not None:
            redis_url = redis_url_for_worker(plan.redis_url, worker_id, plan.redis_dbs)
    except BaseException:
        conn.close()
        raise
    return Worker(plan, worker_id, name, url, redis_url, conn)
