"""The extensions a template's inputs create, checked against the server before anything is
migrated: a missing pgvector or PostGIS then says which package to install, instead of
failing half-way through the migrations with the server's "could not open extension
control file"."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg

from pgstack import admin, urls
from pgstack.errors import ExtensionUnavailable
from pgstack.hashing import Snapshot, shown

_CREATE = re.compile(
    rb"""CREATE\s+EXTENSION\s+(?:IF\s+NOT\s+EXISTS\s+)?["']?([A-Za-z0-9_\-]+)""", re.IGNORECASE
)
_DJANGO_CREATE = re.compile(rb"""CreateExtension\(\s*(?:name\s*=\s*)?["']([A-Za-z0-9_\-]+)""")
# django.contrib.postgres.operations (and pgvector's) classes, by the extension they create.
_DJANGO_CLASSES = {
    b"VectorExtension": "vector",
    b"HStoreExtension": "hstore",
    b"TrigramExtension": "pg_trgm",
    b"CITextExtension": "citext",
    b"CryptoExtension": "pgcrypto",
    b"UnaccentExtension": "unaccent",
    b"BtreeGinExtension": "btree_gin",
    b"BtreeGistExtension": "btree_gist",
    b"BloomExtension": "bloom",
}
# Debian/Ubuntu package names ({major}: the server's major version); contrib extensions
# come with the server package itself.
_PACKAGES = {
    "vector": "postgresql-{major}-pgvector",
    "postgis": "postgresql-{major}-postgis-3",
    "postgis_topology": "postgresql-{major}-postgis-3",
    "postgis_raster": "postgresql-{major}-postgis-3",
    "pgrouting": "postgresql-{major}-pgrouting",
    "timescaledb": "timescaledb-2-postgresql-{major}",
    "pg_cron": "postgresql-{major}-cron",
    "pg_partman": "postgresql-{major}-partman",
}


def wanted(snapshot: Snapshot) -> dict[str, Path]:
    """Every extension the snapshot's files create, with the first file that does."""
    found: dict[str, Path] = {}
    for _root, files in snapshot.roots:
        for path, data in files:
            names = [m.group(1).decode() for m in _CREATE.finditer(data)]
            names += [m.group(1).decode() for m in _DJANGO_CREATE.finditer(data)]
            names += [name for cls, name in _DJANGO_CLASSES.items() if cls + b"(" in data]
            for name in names:
                found.setdefault(name.lower(), path)
    return found


def check_available(
    conn: psycopg.Connection, admin_url: str, snapshot: Snapshot, project_dir: Path
) -> None:
    """Raise ExtensionUnavailable naming the packages when the server lacks one the
    inputs create."""
    needed = wanted(snapshot)
    if not needed:
        return
    rows = conn.execute(
        "SELECT name FROM pg_available_extensions WHERE name = ANY(%s)", (list(needed),)
    ).fetchall()
    missing = sorted(needed.keys() - {row[0] for row in rows})
    if not missing:
        return
    major = admin.server_version(conn) // 10000
    where = ", ".join(f"{name} (in {shown(needed[name], project_dir)})" for name in missing)
    packages = sorted(
        {_PACKAGES.get(name, "postgresql-contrib").format(major=major) for name in missing}
    )
    wheel = _wheel_with(missing)
    also = (
        f"; or run the embedded server from the pgserver wheel installed here, which has "
        f"them: PGSTACK_PG_BIN={wheel} (PostgreSQL 16)"
        if wheel is not None
        else ""
    )
    raise ExtensionUnavailable(
        f"The template's inputs create extension(s) {where}, which PostgreSQL {major} at "
        f"{urls.describe(admin_url)} does not have; nothing was migrated. Install "
        f"{', '.join(packages)} for that server (`apt-get install {' '.join(packages)}` on "
        f"Debian/Ubuntu; `brew install pgvector`/`postgis` with Homebrew){also}. For a server "
        "of your own (DATABASE_URL, the compose db), use an image that has them, e.g. "
        f"pgvector/pgvector:pg{major} or postgis/postgis:{major}-3.4."
    )


def _wheel_with(names: list[str]) -> Path | None:
    """The pgserver wheel's bin folder when its PostgreSQL bundles every one of ``names``."""
    from pgstack.servers.binaries import _wheel_dir

    install = _wheel_dir("pgserver", "pginstall")
    if install is None:
        return None
    controls = install / "share" / "postgresql" / "extension"
    if all((controls / f"{name}.control").is_file() for name in names):
        return install / "bin"
    return None
