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
from urllib.parse import urlsplit, urlunsplit

import psycopg

from pgstack import admin, janitor, persistent, safety, urls
from pgstack.clone import clone_database
from pgstack.errors import CloneFailed, ConfigError, RedisDatabasesExhausted
from pgstack.fresh import FreshClones
from pgstack.migrators import migrator_for
from pgstack.migrators.command import CommandMigrator
from pgstack.ownership import Marker, RunLease, new_run_id, write_marker
from pgstack.servers.postgres import EmbeddedPostgres, start_postgres, wait_for_postgres
from pgstack.servers.redis import EmbeddedRedis, start_redis, wait_for_redis
from pgstack.settings import Settings
from pgstack.template import TemplateSpec, ensure_template

PLAN_ENV = "PGSTACK_RUN_PLAN"


@dataclass(frozen=True)
class RunPlan:
    """Plain values every worker needs; travels as JSON in ``PGSTACK_RUN_PLAN``."""

    run_id: str
    controller_pid: int
    admin_url: str
    template: str
    prefix: str
    embedded: bool
    redis_url: str | None
    app_role: str | None
    keep_failed: bool
    database_url_env: str
    redis_url_env: str
    env: dict[str, str] = field(default_factory=dict)  # [tool.pgstack.env]
    keep: bool = False  # keep every database of the run (--pgstack-keep)
    tmp_dir: str | None = None  # where the embedded server's data lives (None: external)

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
        """Stop the servers this run started (none for external ones)."""
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


def _existing_servers(settings: Settings) -> tuple[str | None, str | None, str]:
    """Servers to use instead of starting ours: DATABASE_URL's, or the `pgstack up` stack.

    With ``keep``, the up stack is started if it is not running: kept databases need a
    server that outlives the run.
    """
    external = settings.database_url
    if external is not None:
        external = urls.libpq_url(external)
        return external, settings.redis_url, f"external, from {settings.database_url_env}"
    if settings.use_up or settings.keep:
        state = persistent.start(settings)[0] if settings.keep else persistent.running(settings)
        if state is not None:
            redis_url = settings.redis_url or state.redis_url
            return state.postgres_url, redis_url, f"pgstack up, {persistent.state_dir(settings)}"
    return None, settings.redis_url, "embedded"


def launch_stack(settings: Settings) -> Launch:
    """Spawn what must be spawned and return at once; ``finish_stack`` waits for it.

    Splitting the two lets the servers boot while pytest imports the project's conftest.
    """
    started = time.monotonic()
    tmp_dir = Path(settings.tmp_dir)
    spec = template_spec(settings)
    external, external_redis, source = _existing_servers(settings)
    launch = Launch(settings, spec, new_run_id(), started, external, None, None, external_redis)
    launch.source = source
    try:
        if external is None:
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


def finish_stack(launch: Launch) -> Stack:
    """Wait for the servers, take the run's lease, collect leftovers, build the template."""
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
        if launch.redis is not None:
            launch.redis.wait_ready(settings.ready_timeout)
        elif settings.redis and launch.external_redis_url is not None:
            wait_for_redis(
                launch.external_redis_url,
                timeout=settings.ready_timeout,
                what=f"Redis at {launch.external_redis_url} (from {settings.redis_url_env})",
                fix=f"Start it, fix the URL, or unset {settings.redis_url_env} to use "
                "an embedded Redis.",
            )
        timings["redis"] = time.monotonic() - launch.started
        admin_url = launch.admin_url
        lease = RunLease(admin_url, launch.run_id)
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


def redis_url_for_worker(base: str, worker_id: str) -> str:
    """The worker's own logical database on the Redis at ``base`` (not checked)."""
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{redis_db_index(worker_id)}"))


def redis_db_index(worker_id: str) -> int:
    """``main`` (no xdist) → 1, ``gw0`` → 1, ``gw1`` → 2, …; database 0 stays unused."""
    if worker_id.startswith("gw") and worker_id[2:].isdigit():
        return int(worker_id[2:]) + 1
    return 1


def _checked_redis_url(base: str, worker_id: str) -> str:
    import redis

    index = redis_db_index(worker_id)
    client = redis.Redis.from_url(base, socket_connect_timeout=5)
    try:
        available = int(client.config_get("databases").get("databases", 16))
    except redis.RedisError:
        # CONFIG is disabled (pgstack's own Redis, managed servers): ask for the database.
        try:
            client.execute_command("SELECT", index)
            available = index + 1
        except redis.ResponseError:  # "DB index is out of range"
            available = index
    finally:
        client.close()
    if index >= available:
        raise RedisDatabasesExhausted(
            f"Redis at {base} has {available} logical databases (0 stays unused), but "
            f"worker {worker_id} needs database {index}: each xdist worker gets its own. Run "
            f"at most {available - 1} workers (-n {available - 1}), or start Redis with "
            f"--databases {index + 1} or more."
        )
    return redis_url_for_worker(base, worker_id)


def check_redis_room(base: str, workers: int) -> None:
    """Before xdist starts ``workers`` workers: fail once, clearly, if Redis lacks room."""
    if workers > 0:
        _checked_redis_url(base, f"gw{workers - 1}")


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
            redis_url = _checked_redis_url(plan.redis_url, worker_id)
    except BaseException:
        conn.close()
        raise
    return Worker(plan, worker_id, name, url, redis_url, conn)
