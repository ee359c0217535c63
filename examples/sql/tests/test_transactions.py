"""The classic integration cases: commit, rollback on error, many connections at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from ledger import accounts


def test_committed_transfer_is_visible_from_another_connection(committed, observer):
    alice = accounts.open_account(committed, "alice", balance=500)
    bob = accounts.open_account(committed, "bob")

    transfer_id = accounts.transfer(committed, alice.id, bob.id, 200)

    assert accounts.get_account(observer, alice.id).balance == 300
    assert accounts.get_account(observer, bob.id).balance == 200
    row = observer.execute("SELECT amount FROM transfers WHERE id = %s", (transfer_id,))
    assert row.fetchone() == (200,)
    assert accounts.history(observer, alice.id) == [(500, 300)]


def test_exception_rolls_the_whole_transfer_back(committed, observer):
    alice = accounts.open_account(committed, "alice", balance=100)
    bob = accounts.open_account(committed, "bob")

    with pytest.raises(accounts.InsufficientFunds):
        accounts.transfer(committed, alice.id, bob.id, 101)

    assert accounts.get_account(observer, alice.id).balance == 100
    assert accounts.get_account(observer, bob.id).balance == 0
    assert observer.execute("SELECT count(*) FROM transfers").fetchone() == (0,)
    assert accounts.history(observer, alice.id) == []


def test_failing_statement_rolls_back_earlier_statements(committed, observer):
    alice = accounts.open_account(committed, "alice", balance=100)
    with pytest.raises(LookupError):
        accounts.transfer(committed, alice.id, 999_999, 10)
    assert accounts.get_account(observer, alice.id).balance == 100


def test_transfer_inside_the_rollback_fixture(db_connection):
    """Nested in pgstack's transaction, the transfer's own transaction is a savepoint."""
    bank = accounts.by_owner(db_connection, "bank")
    carol = accounts.open_account(db_connection, "carol")
    accounts.transfer(db_connection, bank.id, carol.id, 1_000)
    with pytest.raises(accounts.InsufficientFunds):
        accounts.transfer(db_connection, carol.id, bank.id, 1_001)
    assert accounts.get_account(db_connection, carol.id).balance == 1_000


def test_fifty_concurrent_queries_on_a_pool(pool):
    def query(n: int) -> int:
        with pool.connection() as conn:
            return conn.execute("SELECT %s::int * 2 FROM pg_sleep(0.01)", (n,)).fetchone()[0]

    with ThreadPoolExecutor(max_workers=50) as executor:
        results = list(executor.map(query, range(50)))
    assert results == [n * 2 for n in range(50)]


def test_fifty_concurrent_transfers_lose_no_update(pool, observer):
    with pool.connection() as conn:
        bank = accounts.by_owner(conn, "bank")
        dave = accounts.open_account(conn, "dave")

    def pay(_: int) -> int:
        with pool.connection() as conn:
            return accounts.transfer(conn, bank.id, dave.id, 7)

    with ThreadPoolExecutor(max_workers=50) as executor:
        ids = list(executor.map(pay, range(50)))

    assert len(set(ids)) == 50
    assert accounts.get_account(observer, dave.id).balance == 50 * 7
    assert accounts.get_account(observer, bank.id).balance == 1_000_000 - 50 * 7
    assert len(accounts.history(observer, dave.id)) == 50
