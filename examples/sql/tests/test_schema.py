"""The migrated and seeded schema every clone starts from."""

from __future__ import annotations

import psycopg
import pytest
from ledger import accounts


def test_migrations_recorded_in_order(db_connection):
    files = [
        row[0]
        for row in db_connection.execute(
            "SELECT filename FROM pgstack_sql_migrations ORDER BY applied_at, filename"
        )
    ]
    assert files == [
        "001_initial_schema.sql",
        "002_audit_log.sql",
        "003_transfers_by_account.sql",
    ]


def test_seed_rows_are_present(db_connection):
    bank = accounts.by_owner(db_connection, "bank")
    fees = accounts.by_owner(db_connection, "fees")
    assert bank is not None and bank.balance == 1_000_000
    assert fees is not None and fees.balance == 0


def test_concurrently_built_index_is_valid(db_connection):
    row = db_connection.execute(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname = 'transfers_from_id'"
    ).fetchone()
    assert row == (True,)


def test_negative_balance_is_refused(db_connection):
    with pytest.raises(psycopg.errors.CheckViolation):
        accounts.open_account(db_connection, "alice", balance=-1)


def test_duplicate_owner_and_currency_is_refused(db_connection):
    accounts.open_account(db_connection, "alice")
    with pytest.raises(psycopg.errors.UniqueViolation):
        accounts.open_account(db_connection, "alice")


def test_rows_from_one_test_are_gone_in_the_next(db_connection):
    # test_duplicate_owner_and_currency_is_refused opened "alice" (in any order, any worker).
    assert accounts.by_owner(db_connection, "alice") is None
    accounts.open_account(db_connection, "alice")
