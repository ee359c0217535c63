"""One worker's databases: its own clone of the template, its Redis database, and the
per-test clones of ``fresh_database``. Opened in every process that runs tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from pgstack import admin, janitor, urls
from pgstack.clone import clone_database
from pgstack.errors import CloneFailed
from pgstack.fresh import FreshClones
from pgstack.ownership import Marker, write_marker
from pgstack.redis_slots import worker_redis_url
from pgstack.run_plan import RunPlan, alias_database, worker_database
from pgstack.server_lost import note_gone_at_end


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
    # Extra Django aliases with a test database of their own: alias -> its clone's URL.
    alias_urls: dict[str, str] = field(default_factory=dict)

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

    def databases(self) -> list[str]:
        """This worker's own clones: its database and those of extra Django aliases."""
        extra = [urls.parse(url).database for url in self.alias_urls.values()]
        return [self.name, *(name for name in extra if name)]

    def close(self) -> None:
        errors: list[str] = []
        try:
            if self._fresh is not None:
                errors = self._fresh.close()
            if self._conn.closed:
                return
            for name in self.databases():
                if self.plan.keep:
                    marker = Marker(kind="worker", run=self.plan.run_id, kept=True)
                    write_marker(self._conn, name, marker)
                else:
                    janitor.drop_owned(self._conn, name, run=self.plan.run_id)
        except psycopg.OperationalError as exc:
            note_gone_at_end(
                self.plan.admin_url, embedded=self.plan.embedded, what=f"drop {self.name}", exc=exc
            )
            return  # the per-test clones went the same way: nothing more to report
        finally:
            self._conn.close()
        if errors:
            raise CloneFailed(
                "Some per-test databases could not be dropped (the run's end or the next "
                "run's janitor collects them): " + "; ".join(errors)
            )


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
        alias_urls = {}
        for index, (alias, template) in enumerate(sorted(plan.alias_templates.items()), 1):
            alias_urls[alias] = clone_database(
                conn,
                template=template,
                name=alias_database(name, index),
                marker=Marker(kind="worker", run=plan.run_id),
                admin_url=plan.admin_url,
            )
        redis_url = None
        if plan.redis_url is not None:
            redis_url = worker_redis_url(plan.redis_url, worker_id, plan.redis_dbs)
    except BaseException:
        conn.close()
        raise
    return Worker(plan, worker_id, name, url, redis_url, conn, alias_urls=alias_urls)
