"""Per-test clones (``fresh_database``), made one ahead and dropped behind, off the tests'
critical path.

A CREATE DATABASE from the template and a DROP each cost ~7 ms (files copied or unlinked, a
checkpoint). Two background threads, each with its own connection, make the next clone
while the current test runs and drop finished ones after it, so a test waits only when
it needs clones faster than the server can make them.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import psycopg

from pgstack import admin, janitor
from pgstack.clone import clone_database
from pgstack.ownership import Marker


class FreshClones:
    def __init__(self, *, admin_url: str, template: str, run_id: str, base_name: str) -> None:
        self._admin_url = admin_url
        self._template = template
        self._run_id = run_id
        self._base_name = base_name
        self._count = 0
        self._creator = _Lane(admin_url, f"pgstack-create-{base_name}")
        self._dropper = _Lane(admin_url, f"pgstack-drop-{base_name}")
        self._spare: Future[tuple[str, str]] | None = None
        self.errors: list[str] = []

    def take(self) -> tuple[str, str]:
        """(name, url) of a new clone; the next one starts being made at once."""
        spare, self._spare = self._spare, None
        try:
            clone = spare.result() if spare is not None else self._create_now()
        except Exception:
            clone = self._create_now()  # a failed spare: try once more, and fail loudly
        self._spare = self._creator.submit(self._create, self._next_name())
        return clone

    def drop(self, name: str) -> None:
        self._dropper.submit(self._drop, name)

    def close(self) -> list[str]:
        """Wait for queued work, drop the unused spare; returns drops that failed."""
        if self._spare is not None:
            try:
                name, _ = self._spare.result()
                self.drop(name)
            except Exception as exc:  # nothing was created, nothing to drop
                self.errors.append(f"spare clone: {exc}")
            self._spare = None
        self._creator.close()
        self._dropper.close()
        return self.errors

    def _next_name(self) -> str:
        self._count += 1
        return f"{self._base_name}_f{self._count}"

    def _create_now(self) -> tuple[str, str]:
        return self._creator.submit(self._create, self._next_name()).result()

    def _create(self, name: str) -> tuple[str, str]:
        url = clone_database(
            self._creator.connection(),
            template=self._template,
            name=name,
            marker=Marker(kind="fresh", run=self._run_id),
            admin_url=self._admin_url,
        )
        return name, url

    def _drop(self, name: str) -> None:
        try:
            janitor.drop_owned(self._dropper.connection(), name, run=self._run_id)
        except Exception as exc:  # reported at close; the run's end collects it
            self.errors.append(f"{name}: {exc}")


class _Lane(ThreadPoolExecutor):
    """One thread and the admin connection it alone uses."""

    def __init__(self, admin_url: str, name: str) -> None:
        super().__init__(1, thread_name_prefix=name)
        self._admin_url = admin_url
        self._conn: psycopg.Connection | None = None

    def connection(self) -> psycopg.Connection:
        """Call from this worker's thread only."""
        if self._conn is None or self._conn.closed:
            self._conn = admin.connect(self._admin_url, application_name="pgstack-fresh")
        return self._conn

    def close(self) -> None:
        self.submit(lambda: self._conn.close() if self._conn is not None else None)
        self.shutdown(wait=True)
