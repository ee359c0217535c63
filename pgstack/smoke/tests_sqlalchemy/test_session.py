"""db_session and fresh_database.engine(), with SQLAlchemy installed and without it.

With it, the tests pass (in file order, one process: the second test proves the first
one's commit was rolled back). Without it, tests/test_cli.py runs this file and expects
each test to fail with the fix; so SQLAlchemy is imported only after the fixture, in the
test bodies, as a project that lost the extra would meet it.
"""

from __future__ import annotations


def test_db_session_commit_is_a_savepoint(db_session) -> None:
    from sqlalchemy import text

    db_session.execute(text("INSERT INTO notes (body) VALUES ('from a session')"))
    db_session.commit()
    assert db_session.execute(text("SELECT count(*) FROM notes")).scalar_one() == 1


def test_db_session_starts_empty(db_session) -> None:
    from sqlalchemy import text

    assert db_session.execute(text("SELECT count(*) FROM notes")).scalar_one() == 0


def test_fresh_database_engine(fresh_database) -> None:
    engine = fresh_database.engine()
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("INSERT INTO notes (body) VALUES ('fresh')"))
    with fresh_database.engine().connect() as conn:
        assert conn.execute(text("SELECT body FROM notes")).scalar_one() == "fresh"
