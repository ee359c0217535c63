"""50 concurrent queries through psycopg_pool on a fresh database: no errors, no leaks."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from psycopg_pool import ConnectionPool

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_fifty_concurrent_queries(fresh_database, pgstack_worker):
    with psycopg.connect(fresh_database.url) as setup:
        setup.execute(
            "INSERT INTO organizations (name, slug) "
            "SELECT 'Org ' || i, 'org-' || i FROM generate_series(1, 20) AS i"
        )

    def query(i: int) -> int:
        with pool.connection() as conn:
            conn.execute("SELECT pg_sleep(0.02)")
            return conn.execute("SELECT count(*) + %s FROM organizations", (i,)).fetchone()[0]

    pool = ConnectionPool(fresh_database.url, min_size=2, max_size=10, timeout=30, open=True)
    try:
        with ThreadPoolExecutor(max_workers=50) as executor:
            results = list(executor.map(query, range(50)))
        stats = pool.get_stats()
    finally:
        pool.close()

    assert results == [20 + i for i in range(50)]
    assert stats["requests_num"] == 50
    assert stats.get("requests_errors", 0) == 0
    assert stats.get("connections_errors", 0) == 0
    assert stats["pool_max"] == 10
    # A closed client socket ends its server backend a moment later: poll, bounded.
    deadline = time.monotonic() + 5
    with psycopg.connect(pgstack_worker.plan.admin_url, autocommit=True) as admin:
        while True:
            left = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                (fresh_database.name,),
            ).fetchone()[0]
            if left == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    assert left == 0, f"the pool leaked {left} connections"
