"""The floor of a clone per test: what the server itself needs, with no pytest and no pgstack.

Each "test" is what the fresh variant's test does to its own database: CREATE DATABASE from
the suite's template (FILE_COPY, as pgstack does on PostgreSQL 15+), connect, insert a row,
read it back, disconnect, DROP DATABASE. Six threads do that at once, which keeps every
core busy (on two cores the time per test stopped falling at 4-6), so this is the server's
throughput for that work: how fast any tool that gives each test a new database can go on
this machine. pgstack's fixture does the same work one test at a time, with the next clones
made and the last ones dropped in the background.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
from psycopg import sql

from pgstack import urls  # URL handling only: nothing of pgstack's runs in the timed work

LANES = 6
PREFIX = "bench_clone_floor"


def ms_per_test(server: str, tests: int) -> float:
    """Milliseconds per test over ``tests`` tests, connections to the server made before."""
    with psycopg.connect(server, autocommit=True) as conn:
        template = _template(conn)
    lanes = threading.local()
    opened: list[psycopg.Connection] = []

    def one_test(number: int) -> None:
        if not hasattr(lanes, "conn"):
            lanes.conn = psycopg.connect(server, autocommit=True)
            opened.append(lanes.conn)
        name = sql.Identifier(f"{PREFIX}_{number}")
        lanes.conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                name, sql.Identifier(template)
            )
        )
        clone = urls.with_database(server, f"{PREFIX}_{number}")
        with psycopg.connect(clone, autocommit=True) as test:
            test.execute("INSERT INTO items (name, qty) VALUES (%s, %s)", (f"item-{number}", 1))
            test.execute("SELECT qty FROM items WHERE name = %s", (f"item-{number}",)).fetchone()
        lanes.conn.execute(sql.SQL("DROP DATABASE {}").format(name))

    with ThreadPoolExecutor(LANES) as pool:
        list(pool.map(one_test, range(LANES)))  # each lane's admin connection, untimed
        started = time.perf_counter()
        list(pool.map(one_test, range(LANES, LANES + tests)))
        elapsed = time.perf_counter() - started
    for conn in opened:
        conn.close()
    return elapsed / tests * 1000


def _template(conn: psycopg.Connection) -> str:
    """The template pgstack built on the suite's server (the fresh variant clones it)."""
    row = conn.execute(
        "SELECT datname FROM pg_database WHERE datistemplate AND starts_with(datname, "
        "'pgstack_tpl_') ORDER BY datname LIMIT 1"
    ).fetchone()
    if row is None:
        raise RuntimeError("no pgstack template on the suite's server: run a variant first")
    return str(row[0])
