"""200 small database tests: insert one row, read it back."""

import pytest
from conftest import sql


@pytest.mark.parametrize("i", range(200))
def test_insert_and_query(db, i):
    cur = db.cursor()
    cur.execute(sql("INSERT INTO items (name, qty) VALUES (%s, %s)"), (f"item-{i}", i))
    cur.execute(sql("SELECT qty FROM items WHERE name = %s"), (f"item-{i}",))
    assert cur.fetchone() == (i,)
