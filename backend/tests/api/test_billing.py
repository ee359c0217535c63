"""Monthly revenue: data written, view refreshed, endpoint returns the aggregate."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from app.models import SubscriptionStatus

from tests import factories

pytestmark = [pytest.mark.api, pytest.mark.integration]


@pytest.fixture
def book(db_session, tenant_a, tenant_b):
    """Ann: 2 seats Jan-Mar plus 10 GB storage in Feb; Bob (cancelled) and B's data."""
    seat = factories.service(db_session, tenant_a.org, "seat", "12.50")
    storage = factories.service(db_session, tenant_a.org, "storage", "0.10")
    ann = factories.customer(db_session, tenant_a.org, "Ann")
    bob = factories.customer(db_session, tenant_a.org, "Bob")
    factories.subscription(
        db_session,
        ann,
        seat,
        quantity=2,
        started_on=dt.date(2026, 1, 15),
        ended_on=dt.date(2026, 3, 2),
    )
    factories.subscription(
        db_session,
        ann,
        storage,
        quantity=10,
        started_on=dt.date(2026, 2, 1),
        ended_on=dt.date(2026, 2, 28),
    )
    cancelled = factories.subscription(
        db_session, bob, seat, started_on=dt.date(2026, 1, 1), ended_on=dt.date(2026, 1, 31)
    )
    cancelled.status = SubscriptionStatus.cancelled
    other_seat = factories.service(db_session, tenant_b.org, "seat", "99.00")
    other = factories.customer(db_session, tenant_b.org, "Other")
    factories.subscription(
        db_session, other, other_seat, started_on=dt.date(2026, 1, 1), ended_on=dt.date(2026, 1, 31)
    )
    db_session.flush()
    return {"ann": ann, "bob": bob}


def _refresh(client, tenant):
    response = client.post(tenant.path("/billing/refresh"), headers=tenant.admin_headers)
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def test_refresh_then_read_the_aggregate(client, book, tenant_a):
    assert _refresh(client, tenant_a) == 3  # Ann: Jan, Feb, Mar
    rows = client.get(tenant_a.path("/billing/monthly"), headers=tenant_a.member_headers).json()
    revenue = {row["month"]: Decimal(row["revenue"]) for row in rows}
    assert revenue == {
        "2026-01-01": Decimal("25.00"),
        "2026-02-01": Decimal("26.00"),
        "2026-03-01": Decimal("25.00"),
    }
    assert {row["customer_id"] for row in rows} == {str(book["ann"].id)}


def test_view_is_stale_until_refreshed(client, book, tenant_a):
    rows = client.get(tenant_a.path("/billing/monthly"), headers=tenant_a.member_headers).json()
    assert rows == []


def test_month_filter(client, book, tenant_a):
    _refresh(client, tenant_a)
    rows = client.get(
        tenant_a.path("/billing/monthly"),
        params={"month": "2026-02-17"},
        headers=tenant_a.member_headers,
    ).json()
    assert [(r["month"], r["revenue"]) for r in rows] == [("2026-02-01", "26.00")]


def test_other_tenant_sees_only_its_revenue(client, book, tenant_a, tenant_b):
    _refresh(client, tenant_a)
    rows = client.get(tenant_b.path("/billing/monthly"), headers=tenant_b.member_headers).json()
    assert [(r["month"], r["revenue"]) for r in rows] == [("2026-01-01", "99.00")]


def test_refresh_is_recorded(client, book, tenant_a):
    _refresh(client, tenant_a)
    runs = client.get(tenant_a.path("/billing/runs"), headers=tenant_a.member_headers).json()
    assert [(r["rows"], r["details"]) for r in runs] == [(3, {"source": "api"})]


def test_member_cannot_refresh(client, tenant_a):
    response = client.post(tenant_a.path("/billing/refresh"), headers=tenant_a.member_headers)
    assert response.status_code == 403


def test_refresh_picks_up_new_data(client, db_session, book, tenant_a):
    _refresh(client, tenant_a)
    seat = factories.service(db_session, tenant_a.org, "extra", "1.00")
    factories.subscription(
        db_session, book["bob"], seat, started_on=dt.date(2026, 4, 1), ended_on=dt.date(2026, 4, 30)
    )
    assert _refresh(client, tenant_a) == 4
