"""Which servers pgstack may create and drop databases on.

pgstack drops only databases its marker proves it made, but a mistyped or leaked URL
must never get as far as CREATE DATABASE on a real server. Loopback proves nothing (a
port-forward to production is on localhost too), so the rule asks the URL and the server:

A server pgstack did not start itself is used only if
  - the database name in the URL has "test" (or "tests") as a word (app_test, test_shop,
    my-test-db; not contests or latest), or
  - the server runs with fsync off: it has given up durability, which only a throwaway
    test server does (the compose db and pgstack's own servers do; production never).
Otherwise it is refused, unless ``allow_any_server`` (PGSTACK_ALLOW_ANY_SERVER=1).
"""

from __future__ import annotations

import re

import psycopg

from pgstack import urls
from pgstack.errors import ConfigError, UnsafeTarget
from pgstack.settings import Settings


def name_says_test(database: str) -> bool:
    """True when the database name has ``test`` or ``tests`` as a word: words are split at
    anything but letters and digits (``app_test``, ``test-app``, ``shop.tests``). A name
    merely containing the letters (``contests``, ``latest``) says nothing about the server."""
    words = re.split(r"[^a-z0-9]+", database.lower())
    return "test" in words or "tests" in words


def durability_off(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT current_setting('fsync')").fetchone()
    return row is not None and row[0] == "off"


def check_target(url: str, settings: Settings, conn: psycopg.Connection) -> None:
    """Raise UnsafeTarget unless ``url`` (reached through ``conn``) looks like a test server.

    The name is the one ``conn`` is connected to, not the one read from the URL: libpq may
    fill in what the URL leaves out (PGDATABASE, PGSERVICE), and the rule must judge the
    database it is actually on."""
    database = conn.info.dbname
    if settings.allow_any_server or name_says_test(database) or durability_off(conn):
        return
    where = f"{conn.info.host}:{conn.info.port}/{database}"
    raise UnsafeTarget(
        f"{settings.database_url_env} points at {where}, which does not look like "
        "a test server: the database name has no word 'test' in it and the server runs with "
        "fsync on, as real servers do. pgstack creates and drops databases there, so it "
        "stops here. If this server is meant for tests, name the database in the URL "
        "with test as a word (e.g. app_test, test_app), or set PGSTACK_ALLOW_ANY_SERVER=1 "
        "(allow_any_server = true in [tool.pgstack])."
    )


def check_app_role(conn: psycopg.Connection, role: str, admin_url: str) -> None:
    """The app role must be a separate, ordinary role: tests that run as a superuser (or a
    role with BYPASSRLS) pass where production, bound by Row Level Security and grants,
    fails. Membership counts too: a member can SET ROLE to (or inherit) the other role."""
    admin_user = conn.execute("SELECT current_user").fetchone()[0]  # type: ignore[index]
    row = conn.execute(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", (role,)
    ).fetchone()
    where = urls.describe(admin_url)
    if row is None:
        raise ConfigError(
            f"app_role {role!r} does not exist on {where}. Create it in an init script "
            "(init_dir) or in a migration, or remove app_role from [tool.pgstack]."
        )
    if role == admin_user:
        raise ConfigError(
            f"app_role {role!r} is the user pgstack connects to {where} as (the user in "
            "DATABASE_URL): tests would run with the rights that create and drop databases. "
            "Use a separate role."
        )
    superuser, bypassrls = row
    if superuser or bypassrls:
        what = "a superuser" if superuser else "allowed to bypass Row Level Security"
        raise ConfigError(
            f"app_role {role!r} on {where} is {what}, so tests would pass where your "
            f"application, bound by its grants and policies, fails. ALTER ROLE {role} "
            "NOSUPERUSER NOBYPASSRLS, or name an ordinary role."
        )
    privileged = _privileged_memberships(conn, role)
    if privileged:
        names = ", ".join(repr(name) for name in privileged)
        raise ConfigError(
            f"app_role {role!r} on {where} is a member of {names} (a superuser, a role that "
            "bypasses Row Level Security, the database owner or the user pgstack connects "
            "as), so through SET ROLE or inherited rights tests would pass where your "
            f"application fails. REVOKE those roles FROM {role}, or name an ordinary role."
        )


def _privileged_memberships(conn: psycopg.Connection, role: str) -> list[str]:
    """The privileged roles ``role`` belongs to, directly or through other roles."""
    rows = conn.execute(
        "SELECT r.rolname FROM pg_roles r "
        "WHERE r.rolname <> %(role)s "
        "AND (r.rolsuper OR r.rolbypassrls OR r.rolname = current_user "
        "     OR r.oid = (SELECT datdba FROM pg_database WHERE datname = current_database())) "
        "AND pg_has_role(%(role)s, r.oid, 'MEMBER') ORDER BY r.rolname",
        {"role": role},
    ).fetchall()
    return [name for (name,) in rows]
