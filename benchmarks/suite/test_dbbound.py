"""A database-bound suite for parallel scaling: each test makes PostgreSQL work ~15 ms."""

import pytest


@pytest.mark.parametrize("i", range(200))
def test_aggregate(db_connection, i):
    row = db_connection.execute(
        "SELECT count(*), sum(x %% 7) FROM generate_series(1, 150000 + %s) AS x", (i,)
    ).fetchone()
    assert row[0] == 150000 + i
