"""Account operations. Each function runs in the caller's transaction, or opens one."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.rows import class_row


class InsufficientFunds(Exception):
    """The source account cannot cover the transfer; nothing was changed."""


@dataclass(frozen=True)
class Account:
    id: int
    owner: str
    currency: str
    balance: int


def open_account(conn: psycopg.Connection, owner: str, balance: int = 0) -> Account:
    with conn.cursor(row_factory=class_row(Account)) as cur:
        cur.execute(
            "INSERT INTO accounts (owner, balance) VALUES (%s, %s) "
            "RETURNING id, owner, currency, balance",
            (owner, balance),
        )
        account = cur.fetchone()
    assert account is not None
    return account


_SELECT = "SELECT id, owner, currency, balance FROM accounts"


def get_account(conn: psycopg.Connection, account_id: int) -> Account | None:
    with conn.cursor(row_factory=class_row(Account)) as cur:
        return cur.execute(_SELECT + " WHERE id = %s", (account_id,)).fetchone()


def by_owner(conn: psycopg.Connection, owner: str) -> Account | None:
    with conn.cursor(row_factory=class_row(Account)) as cur:
        return cur.execute(_SELECT + " WHERE owner = %s", (owner,)).fetchone()


def transfer(conn: psycopg.Connection, from_id: int, to_id: int, amount: int) -> int:
    """Move ``amount`` between accounts atomically; returns the transfer's id.

    Rows are locked in id order, so two opposite transfers cannot deadlock.
    """
    with conn.transaction():
        rows = conn.execute(
            "SELECT id, balance FROM accounts WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
            ([from_id, to_id],),
        ).fetchall()
        balances = dict(rows)
        if from_id not in balances or to_id not in balances:
            raise LookupError(f"no account {from_id if from_id not in balances else to_id}")
        if balances[from_id] < amount:
            raise InsufficientFunds(f"account {from_id} has {balances[from_id]}, needs {amount}")
        conn.execute("UPDATE accounts SET balance = balance - %s WHERE id = %s", (amount, from_id))
        conn.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s", (amount, to_id))
        row = conn.execute(
            "INSERT INTO transfers (from_id, to_id, amount) VALUES (%s, %s, %s) RETURNING id",
            (from_id, to_id, amount),
        ).fetchone()
    assert row is not None
    return row[0]


def history(conn: psycopg.Connection, account_id: int) -> list[tuple[int, int]]:
    """(old, new) balances of an account, oldest first, from the audit trigger."""
    return conn.execute(
        "SELECT old_balance, new_balance FROM audit_log WHERE account_id = %s ORDER BY id",
        (account_id,),
    ).fetchall()
