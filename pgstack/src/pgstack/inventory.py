"""What pgstack owns on a server, sorted once: live, kept, dead and old templates.

``pgstack status``, ``list``, ``clean``, ``psql``, doctor, the janitor and the end-of-run
summary all read the same inventory, so they agree on what is whose.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

from pgstack.ownership import Marker, is_of_checkout, live_runs, owned_databases


@dataclass(frozen=True)
class Owned:
    """A database whose marker proves pgstack made it."""

    name: str
    marker: Marker
    live: bool  # its run still holds its lease

    @property
    def is_template(self) -> bool:
        return self.marker.kind == "template"


@dataclass(frozen=True)
class Inventory:
    databases: list[Owned]
    live_runs: set[str]

    @classmethod
    def take(cls, conn: psycopg.Connection, prefix: str) -> Inventory:
        """Databases are listed before the live runs are read: a run takes its lease before
        it creates any, so one that starts meanwhile is seen alive."""
        owned = owned_databases(conn, prefix)
        alive = live_runs(conn)
        return cls([Owned(name, marker, marker.run in alive) for name, marker in owned], alive)

    def clones(self) -> list[Owned]:
        """Worker and per-test databases (everything but templates)."""
        return [entry for entry in self.databases if not entry.is_template]

    def of_run(self, run_id: str) -> list[Owned]:
        return [entry for entry in self.clones() if entry.marker.run == run_id]

    def kept(self) -> list[Owned]:
        return [entry for entry in self.databases if entry.marker.kept]

    def dead(self) -> list[Owned]:
        """Clones of runs that ended without dropping them, not kept on purpose."""
        return [e for e in self.clones() if not e.live and not e.marker.kept]

    def collectable(self) -> list[Owned]:
        """What a janitor may drop: dead clones, and templates a dead run left half-built."""
        half_built = [
            e
            for e in self.databases
            if e.is_template and not e.live and not e.marker.kept and e.marker.state != "complete"
        ]
        return self.dead() + half_built

    def templates(self) -> list[Owned]:
        return [entry for entry in self.databases if entry.is_template]

    def old_templates(self, project_dir: Path, current: frozenset[str]) -> list[Owned]:
        """This checkout's templates of older schemas (other projects' stay theirs).
        ``current``: the templates a run would use now (one per Django alias of its own)."""
        return [
            e
            for e in self.templates()
            if is_of_checkout(e.marker, project_dir) and e.name not in current
        ]

    def template_label(self, entry: Owned, project_dir: Path, current: frozenset[str]) -> str:
        """current / old (this checkout's) / whose it is: another checkout, or unknown."""
        marker = entry.marker
        if is_of_checkout(marker, project_dir):
            return "current" if entry.name in current else "old"
        if marker.checkout is None:
            return f"of project {marker.project} (checkout unknown: older pgstack)"
        return f"of project {marker.project}, another checkout"
