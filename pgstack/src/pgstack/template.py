"""The migrated template: hash → build under an advisory lock → mark complete → reuse.

A template is usable only once its marker says "complete", written after migrations
succeed. A half-built one (its builder crashed, or migrations failed) is dropped and
rebuilt, never cloned. A complete one is verified before it is reused: the migrator
compares what a scratch clone of it holds with the files on disk (``Migrator.mismatch``),
and a template its hash wrongly trusted is rebuilt, saying what differed.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
from psycopg import sql

from pgstack import admin, janitor, progress, urls
from pgstack.clone import clone_database
from pgstack.errors import PgstackError, TemplateBuildFailed, TemplateInputsChanged
from pgstack.extensions import check_available
from pgstack.hashing import Snapshot, shown
from pgstack.migrators import Migrator, NoMigrator
from pgstack.migrators.command import CommandMigrator
from pgstack.migrators.sql import SqlMigrator
from pgstack.ownership import Marker, checkout_id, live_runs, read_marker, write_marker
from pgstack.sqlfiles import read_sql, run_sql, sql_files, transaction_for
from pgstack.template_spec import TemplateSpec
from pgstack.wait import wait_until


@dataclass(frozen=True)
class TemplateResult:
    name: str
    built: bool  # False: an existing complete template was reused
    seconds: float
    # Why an existing complete template was rebuilt: it did not hold what the files on disk
    # say (an input the hash does not cover changed).
    stale: str | None = None
    # The run that built the reused template while this one waited for its lock (e.g. the
    # compose runner's `pgstack prepare`, started beside pytest).
    built_by: str | None = None

    @property
    def state(self) -> str:
        """``built``, ``reused``, ``rebuilt`` or who built it meanwhile: what run headers show."""
        if self.stale is not None:
            return "rebuilt"
        if self.built:
            return "built"
        if self.built_by is not None:
            return f"reused, built meanwhile by run {self.built_by}"
        return "reused"


def ensure_template(
    admin_url: str,
    spec: TemplateSpec,
    *,
    run_id: str,
    timeout: float = 600.0,
    report: progress.StreamReport | None = None,
    private: bool = False,
    conn: psycopg.Connection | None = None,
) -> TemplateResult:
    """Return a complete template for ``spec``, building it if no complete one exists.

    ``report``: where a long build shows its progress (``pgstack.progress``); ``private``:
    the server is this run's own (embedded), so no other session can need the template;
    ``conn``: an admin session of ``admin_url`` to work through (the run's lease: a connect
    costs more than the whole check of a reused template), else one of its own."""
    started = time.monotonic()
    spec.check()
    name = spec.name()
    key = admin.lock_key("template:" + name)
    with contextlib.nullcontext(conn) if conn is not None else admin.connect(admin_url) as session:
        incomplete = _lock(session, key, name, admin_url, timeout)
        try:
            built, stale, marker_run = _ensure_locked(
                session,
                admin_url,
                spec,
                name,
                run_id=run_id,
                timeout=timeout,
                report=report,
                private=private,
            )
        finally:
            session.execute("SELECT pg_advisory_unlock(%s, %s)", (admin.LOCK_NAMESPACE, key))
    built_by = marker_run if incomplete and not built else None
    return TemplateResult(name, built, time.monotonic() - started, stale, built_by)


def stale_note(name: str, stale: str) -> str:
    """The line a run shows when a template its hash trusted was rebuilt."""
    return (
        f"template {name} was rebuilt: it did not hold what the files on disk say ({stale}). "
        "Something that shapes the schema is not among the hashed inputs: add it to "
        "schema_inputs in [tool.pgstack], so a change to it gives a new template at once."
    )


def _lock(conn: psycopg.Connection, key: int, name: str, admin_url: str, timeout: float) -> bool:
    """Take the template's lock; True when another run held it while the template was not
    complete (so that run was building it)."""
    incomplete: bool | None = None  # what the holder found, looked at the first time only

    def acquire() -> None:
        nonlocal incomplete
        row = conn.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", (admin.LOCK_NAMESPACE, key)
        ).fetchone()
        if not (row and row[0]):
            if incomplete is None:
                exists, marker = read_marker(conn, name)
                incomplete = not exists or marker is None or marker.state != "complete"
            # not a PgstackError: wait_until retries it until the deadline
            raise BlockingIOError("another run is building this template")

    wait_until(
        acquire,
        timeout=timeout,
        what=f"The lock for template {name} on {urls.describe(admin_url)}",
        fix="Another test run holds it while it migrates; wait for it, or stop it.",
        interval=0.05,
    )
    return bool(incomplete)


def _ensure_locked(
    conn: psycopg.Connection,
    admin_url: str,
    spec: TemplateSpec,
    name: str,
    *,
    run_id: str,
    timeout: float,
    report: progress.StreamReport | None,
    private: bool,
) -> tuple[bool, str | None, str | None]:
    """(built, why an existing template was rebuilt, the run its marker names)."""
    deadline = time.monotonic() + timeout
    stale = None
    while True:
        exists, marker = read_marker(conn, name)
        if not exists:
            with progress.reporting(f"building template {name} ({spec.migrator.name})", report):
                _build(conn, admin_url, spec, name, run_id=run_id)
            return True, stale, run_id
        if marker is None or marker.kind != "template":
            raise TemplateBuildFailed(
                f"Database {name!r} exists on {urls.describe(admin_url)} but pgstack did not "
                "create it (no pgstack template marker), so pgstack will neither use nor drop "
                "it. Rename or drop it yourself, or set PGSTACK_PREFIX to another prefix."
            )
        if marker.state == "complete":
            if spec.rebuild:
                # --create-db: build it again (clones already made from it are unaffected).
                janitor.drop_owned(conn, name, run=marker.run)
                spec = replace(spec, rebuild=False)
                continue
            if stale is None:  # verify once; a rebuilt template holds what the files say
                stale = mismatch(conn, admin_url, spec, name, run_id=run_id, private=private)
            if stale is None:
                return False, None, marker.run
            janitor.drop_owned(conn, name, run=marker.run)
            continue
        if marker.run in live_runs(conn) and marker.run != run_id:
            # Building elsewhere (a run whose lock lives in another database): wait for it.
            if time.monotonic() > deadline:
                raise TemplateBuildFailed(
                    f"Template {name!r} is still being built by live run {marker.run}."
                )
            time.sleep(0.1)
            continue
        janitor.drop_owned(conn, name, run=marker.run)  # half-built by a dead run


def mismatch(
    conn: psycopg.Connection,
    admin_url: str,
    spec: TemplateSpec,
    name: str,
    *,
    run_id: str,
    private: bool = False,
) -> str | None:
    """What the complete template ``name`` holds that the files on disk do not say.

    On a shared server it is read from a scratch clone: a session on the template itself
    would make another run's clones of it fail meanwhile. On a ``private`` server (this
    run's own) nobody else clones it, so it is read in place, which saves a CREATE and a
    DROP DATABASE; the session is gone before this returns, so this run's clones never
    wait for it."""
    migrator = spec.migrator
    if isinstance(migrator, NoMigrator | CommandMigrator):
        return None  # they keep no record to compare: no clone needed
    if private:
        return _mismatch_in_place(conn, admin_url, spec, name)
    scratch = f"{spec.prefix}_{run_id}_verify"
    url = clone_database(
        conn,
        template=name,
        name=scratch,
        marker=Marker(kind="fresh", run=run_id),
        admin_url=admin_url,
    )
    try:
        return migrator.mismatch(url)
    finally:
        janitor.drop_owned(conn, scratch, run=run_id)


def _mismatch_in_place(
    conn: psycopg.Connection, admin_url: str, spec: TemplateSpec, name: str
) -> str | None:
    """A template takes no connections (so nothing can hold it while runs clone it): let
    the migrator's one in for the comparison, then close it again."""
    allow = sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS {}")
    ident = sql.Identifier(name)
    conn.execute(allow.format(ident, sql.SQL("true")))
    try:
        return spec.migrator.mismatch(urls.with_database(admin_url, name))
    finally:
        conn.execute(allow.format(ident, sql.SQL("false")))
        _wait_for_no_sessions(conn, name)


def _wait_for_no_sessions(conn: psycopg.Connection, database: str, timeout: float = 5.0) -> None:
    """A closed session's backend ends a moment after its client: a CREATE DATABASE from
    the template that still sees it sleeps 100 ms before it looks again."""
    deadline = time.monotonic() + timeout
    while janitor.has_sessions(conn, database) and time.monotonic() < deadline:
        time.sleep(0.001)


def _build(
    conn: psycopg.Connection, admin_url: str, spec: TemplateSpec, name: str, *, run_id: str
) -> None:
    ident = sql.Identifier(name)
    marker = Marker(
        kind="template",
        run=run_id,
        state="building",
        hash=spec.hash(),
        project=spec.project_dir.name,
        checkout=checkout_id(spec.project_dir),
    )
    check_available(conn, admin_url, spec.snapshot, spec.project_dir)  # before migrating
    try:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
        write_marker(conn, name, marker)
    except psycopg.Error as exc:
        raise TemplateBuildFailed(
            f"Could not create template database {name!r} on {urls.describe(admin_url)}: "
            f"{' '.join(str(exc).split())}. The user in DATABASE_URL needs CREATEDB."
        ) from exc
    url = urls.with_database(admin_url, name)
    try:
        _run_files(
            url,
            spec.init_files(),
            spec.snapshot,
            what="Init script",
            fix="Fix the script (it must be idempotent: it also runs when the compose db starts).",
        )
        _migrate(spec.migrator, url, spec.snapshot)
        seeds = sql_files(list(spec.seed_files))
        _run_files(url, seeds, spec.snapshot, what="Seed file", fix="Fix the file.")
        if spec.seeder is not None:
            spec.seeder.migrate(url)
        changed = spec.changed_files()
        if changed:
            raise TemplateInputsChanged.during_build(
                f"Template {name!r} on {urls.describe(admin_url)}",
                "changed: " + ", ".join(shown(path, spec.project_dir) for path in changed),
            )
        # Sessions left open by migrations would make every clone fail.
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(
            sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(ident)
        )
        write_marker(conn, name, marker.with_(state="complete"))
    except BaseException as exc:
        with contextlib.suppress(Exception):  # the original failure matters more
            janitor.drop_owned(conn, name, run=run_id)
        if isinstance(exc, PgstackError):
            raise
        if isinstance(exc, psycopg.Error):
            raise TemplateBuildFailed(
                f"Building template {name!r} on {urls.describe(admin_url)} failed: "
                f"{' '.join(str(exc).split())}"
            ) from exc
        raise


def _migrate(migrator: Migrator, url: str, snapshot: Snapshot) -> None:
    """The sql migrator runs the hashed bytes; others read their files themselves (the
    check after the build catches an edit)."""
    if isinstance(migrator, SqlMigrator):
        migrator.migrate(url, snapshot)
    else:
        migrator.migrate(url)


def _run_files(url: str, files: list[Path], snapshot: Snapshot, *, what: str, fix: str) -> None:
    """Run SQL files into the template as ``snapshot`` holds them, each in its own
    transaction."""
    if not files:
        return
    what = f"{what} (template {urls.describe(url)})"
    with admin.connect(url) as conn:
        for file in files:
            text = read_sql(file, snapshot, what=what)
            with transaction_for(conn, text):
                run_sql(conn, file, text, what=what, fix=fix)
