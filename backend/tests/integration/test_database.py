"""Transactions, constraints and locking on the real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import psycopg
import pytest
from app.core.db import set_tenant
from app.models import Customer, Organization, Service
from sqlalchemy import func, select, text
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from tests import factories

pytestmark = pytest.mark.integration


class Boom(Exception):
    pass


def test_transaction_that_raises_rolls_back(db_session, tenant_a):
    with pytest.raises(Boom), db_session.begin_nested():
        factories.customer(db_session, tenant_a.org, "Doomed")
        raise Boom
    assert db_session.scalar(select(func.count()).select_from(Customer)) == 0


def test_committed_transaction_is_visible_to_other_connections(fresh_database):
    engine = fresh_database.engine()
    with Session(engine) as writer:
        org_id = factories.organization(writer, "committed").id
        writer.commit()
    with Session(engine) as reader:
        set_tenant(reader, org_id)
        assert reader.scalar(select(Organization.slug)) == "committed"


def test_uncommitted_rows_are_invisible_to_other_connections(fresh_database):
    engine = fresh_database.engine()
    with Session(engine) as writer, Session(engine) as reader:
        org = factories.organization(writer, "pending")
        set_tenant(reader, org.id)
        assert reader.scalar(select(Organization.slug)) is None
        writer.commit()
        reader.commit()  # new snapshot
        assert reader.scalar(select(Organization.slug)) == "pending"


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        ("UPDATE services SET unit_price = -1", IntegrityError),  # CHECK
        ("UPDATE subscriptions SET quantity = 0", IntegrityError),  # CHECK
        ("UPDATE subscriptions SET ended_on = '2000-01-01'", IntegrityError),  # CHECK period
        ("UPDATE subscriptions SET status = 'bogus'", DataError),  # enum
        ("UPDATE organizations SET slug = 'Bad Slug'", IntegrityError),  # CHECK format
    ],
)
def test_constraints_reject_bad_data(db_session, tenant_a, statement, error):
    seat = factories.service(db_session, tenant_a.org, "seat", "1.00")
    factories.subscription(db_session, factories.customer(db_session, tenant_a.org, "Ann"), seat)
    with pytest.raises(error), db_session.begin_nested():
        db_session.execute(text(statement))


def test_partial_unique_index_allows_many_cancelled(db_session, tenant_a):
    seat = factories.service(db_session, tenant_a.org, "seat", "1.00")
    ann = factories.customer(db_session, tenant_a.org, "Ann")
    for _ in range(3):
        sub = factories.subscription(db_session, ann, seat)
        sub.status = "cancelled"
        db_session.flush()
    factories.subscription(db_session, ann, seat)
    with pytest.raises(IntegrityError), db_session.begin_nested():
        factories.subscription(db_session, ann, seat)


def test_on_conflict_upsert_keeps_one_row(db_session, tenant_a):
    from sqlalchemy.dialects.postgresql import insert

    for price in ("1.00", "2.00", "3.00"):
        db_session.execute(
            insert(Service)
            .values(organization_id=tenant_a.org.id, code="seat", name="Seat", unit_price=price)
            .on_conflict_do_update(constraint="services_org_code_key", set_={"unit_price": price})
        )
    prices = db_session.scalars(select(Service.unit_price)).all()
    assert prices == [Decimal("3.00")]


def test_row_lock_makes_concurrent_increments_serial(fresh_database):
    """SELECT … FOR UPDATE: two writers add 1 each; neither update is lost."""
    admin_url = fresh_database.url
    with psycopg.connect(admin_url) as setup:
        org = setup.execute(
            "INSERT INTO organizations (name, slug) VALUES ('L', 'l') RETURNING id"
        ).fetchone()[0]
        cust = setup.execute(
            "INSERT INTO customers (organization_id, name, email) VALUES (%s, 'c', 'c@x') "
            "RETURNING id",
            (org,),
        ).fetchone()[0]
        svc = setup.execute(
            "INSERT INTO services (organization_id, code, name, unit_price) "
            "VALUES (%s, 's', 'S', 1) RETURNING id",
            (org,),
        ).fetchone()[0]
        sub = setup.execute(
            "INSERT INTO subscriptions (organization_id, customer_id, service_id, quantity, "
            "unit_price, started_on) VALUES (%s, %s, %s, 1, 1, %s) RETURNING id",
            (org, cust, svc, dt.date(2026, 1, 1)),
        ).fetchone()[0]

    first_has_lock = threading.Event()
    release_first = threading.Event()

    def increment(hold: bool) -> None:
        with psycopg.connect(admin_url) as conn, conn.transaction():
            qty = conn.execute(
                "SELECT quantity FROM subscriptions WHERE id = %s FOR UPDATE", (sub,)
            ).fetchone()[0]
            if hold:
                first_has_lock.set()
                release_first.wait(10)
            conn.execute("UPDATE subscriptions SET quantity = %s WHERE id = %s", (qty + 1, sub))

    first = threading.Thread(target=increment, args=(True,))
    first.start()
    assert first_has_lock.wait(10)
    second = threading.Thread(target=increment, args=(False,))
    second.start()
    second.join(0.3)
    assert second.is_alive(), "the second writer should wait for the row lock"
    release_first.set()
    first.join(10)
    second.join(10)
    with psycopg.connect(admin_url) as check:
        assert check.execute("SELECT quantity FROM subscriptions").fetchone()[0] == 3


def test_jsonb_operators(db_session, tenant_a):
    factories.customer(db_session, tenant_a.org, "Ann", tier="gold", region="eu")
    factories.customer(db_session, tenant_a.org, "Bob", tier="silver")
    names = db_session.scalars(
        select(Customer.name).where(Customer.attributes["tier"].astext == "gold")
    ).all()
    assert names == ["Ann"]
    assert db_session.scalar(select(func.count()).where(Customer.attributes.has_key("region"))) == 1
