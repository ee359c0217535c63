"""The second half of a run's start, in the controller: wait for the servers, take the
run's lease, collect leftovers, build or reuse the template, and write the plan.

``start_run`` runs once per test run (the xdist controller, or the only process); each
worker then opens its own database from the plan (``pgstack.worker``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import psycopg

from pgstack import janitor, target_rules
from pgstack.alias_templates import ensure_alias_templates
from pgstack.inventory import Inventory
from pgstack.launch import Launch, launch_run
from pgstack.ownership import RunLease
from pgstack.progress import StreamReport
from pgstack.run_plan import FROM_ENV, RunPlan
from pgstack.server_lost import note_gone_at_end
from pgstack.servers.postgres import EmbeddedPostgres
from pgstack.settings import Settings
from pgstack.template import TemplateResult, ensure_template


@dataclass
class Run:
    """What the controller owns for the run; ``close`` leaves nothing behind."""

    plan: RunPlan
    launch: Launch
    lease: RunLease
    template: TemplateResult  # built, reused or rebuilt, and why
    timings: dict[str, float] = field(default_factory=dict)  # seconds since launch
    collected: list[str] = field(default_factory=list)  # dead runs' databases dropped
    _closed: bool = False

    @property
    def template_state(self) -> str:
        return self.template.state

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
        cache = False
        try:
            if self.postgres is None:
                janitor.drop_run(self.lease.connection, self.plan.prefix, self.plan.run_id)
            elif self.template.built and self.postgres.cache_key is not None:
                cache = _only_templates_left(self.lease.connection, self.plan)
        except psycopg.OperationalError as exc:
            note_gone_at_end(
                self.plan.admin_url,
                embedded=self.plan.embedded,
                what="drop this run's databases",
                exc=exc,
            )
        finally:
            self.lease.close()
            if cache and self.postgres is not None:
                self.postgres.stop_into_cache(self.launch.settings.cluster_cache_mb * 2**20)
            self.launch.abort()


def _only_templates_left(conn: psycopg.Connection, plan: RunPlan) -> bool:
    """Drop the run's clones so that the cluster holds only its template, for the
    migrated-cluster cache; False when something else of ours stays (kept databases)."""
    janitor.drop_run(conn, plan.prefix, plan.run_id)
    return not Inventory.take(conn, plan.prefix).clones()


def start_run(
    launch: Launch, *, redis_databases: int = 1, report: StreamReport | None = None
) -> Run:
    """Wait for the servers, take the run's lease, collect leftovers, build the template.

    ``redis_databases``: how many Redis databases the run claims (one per xdist worker);
    ``report``: where a long template build shows its progress.
    """
    settings = launch.settings
    # Seconds since launch: "configured" is when pytest had loaded the project's conftest
    # files and plugins (servers this run started booted meanwhile), the rest when each
    # phase ended.
    timings: dict[str, float] = {"configured": time.monotonic() - launch.started}
    lease: RunLease | None = None
    try:
        launch.wait_for_postgres()
        timings["postgres"] = time.monotonic() - launch.started
        redis_dbs = launch.claim_redis(max(redis_databases, 1))
        timings["redis"] = time.monotonic() - launch.started
        admin_url = launch.admin_url
        lease = RunLease(admin_url, launch.run_id)
        if launch.redis_claims is not None:
            lease.also(launch.redis_claims.refresh)
        if launch.sources.postgres_from == FROM_ENV:  # a server someone else runs
            target_rules.check_target(admin_url, settings, lease.connection)
        collected: list[str] = []
        if launch.postgres is None:
            collected = janitor.collect_dead(lease.connection, settings.prefix)
        private = launch.postgres is not None  # this run's own server
        template = ensure_template(
            admin_url,
            launch.spec,
            run_id=launch.run_id,
            report=report,
            private=private,
            conn=lease.connection,
        )
        alias_templates = ensure_alias_templates(
            admin_url,
            launch.spec,
            template.name,
            run_id=launch.run_id,
            report=report,
            private=private,
            conn=lease.connection,
        )
        if settings.app_role is not None:  # init scripts may create it: check after them
            target_rules.check_app_role(lease.connection, settings.app_role, admin_url)
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
            tmp_dir=str(settings.tmp_dir) if launch.postgres is not None else None,
            postgres_from=launch.sources.postgres_from,
            redis_from=launch.sources.redis_from,
            redis_dbs=redis_dbs,
            alias_templates=alias_templates,
        )
        return Run(plan, launch, lease, template, timings, collected=collected)
    except BaseException:
        if lease is not None:
            lease.close()
        launch.abort()
        raise


def run_now(settings: Settings, *, report: StreamReport | None = None) -> Run:
    """Launch and start at once (``pgstack prepare`` and tests: nothing to overlap with)."""
    return start_run(launch_run(settings), report=report)
