"""Services (ON CONFLICT upsert) and subscriptions (partial unique index, row locks)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from types import SimpleNamespace

import pytest
from app.models import Service, Subscription, SubscriptionStatus

from tests import factories

pytestmark = [pytest.mark.api, pytest.mark.integration]


@pytest.fixture
def catalog(db_session, tenant_a):
    return {
        "seat": factories.service(db_session, tenant_a.org, "seat", "12.50"),
        "storage": factories.service(db_session, tenant_a.org, "storage", "3.00"),
    }


@pytest.fixture
def ann(db_session, tenant_a):
    return factories.customer(db_session, tenant_a.org, "Ann")


def _subscribe(client, tenant, customer, code="seat", **extra):
    body = {"customer_id": str(customer.id), "service_code": code, "quantity": 2}
    body.update({"started_on": "2026-01-01", **extra})
    return client.post(tenant.path("/subscriptions"), json=body, headers=tenant.member_headers)


def test_put_service_creates_then_updates_in_place(client, as_tenant, tenant_a):
    url = tenant_a.path("/services/seat")
    first = client.put(
        url, json={"name": "Seat", "unit_price": "10.00"}, headers=tenant_a.admin_headers
    )
    second = client.put(
        url, json={"name": "Seat+", "unit_price": "11.00"}, headers=tenant_a.admin_headers
    )
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    row = as_tenant(tenant_a).get(Service, uuid.UUID(first.json()["id"]))
    as_tenant(tenant_a).refresh(row)
    assert (row.name, row.unit_price) == ("Seat+", Decimal("11.00"))


def test_member_cannot_change_prices(client, tenant_a):
    response = client.put(
        tenant_a.path("/services/seat"),
        json={"name": "Seat", "unit_price": "1.00"},
        headers=tenant_a.member_headers,
    )
    assert response.status_code == 403


def test_services_are_listed_by_code(client, catalog, tenant_a):
    response = client.get(tenant_a.path("/services"), headers=tenant_a.member_headers)
    assert [s["code"] for s in response.json()] == ["seat", "storage"]


def test_subscribe_copies_the_current_price(client, as_tenant, catalog, ann, tenant_a):
    response = _subscribe(client, tenant_a, ann)
    assert response.status_code == 201, response.text
    row = as_tenant(tenant_a).get(Subscription, uuid.UUID(response.json()["id"]))
    assert (row.unit_price, row.quantity, row.status) == (
        Decimal("12.50"),
        2,
        SubscriptionStatus.active,
    )


def test_second_active_subscription_is_409(client, catalog, ann, tenant_a):
    assert _subscribe(client, tenant_a, ann).status_code == 201
    response = _subscribe(client, tenant_a, ann)
    assert response.status_code == 409
    assert "active" in response.json()["detail"]


def test_resubscribe_after_cancel(client, catalog, ann, tenant_a):
    first = _subscribe(client, tenant_a, ann).json()
    cancel = client.post(
        tenant_a.path(f"/subscriptions/{first['id']}/cancel"), headers=tenant_a.member_headers
    )
    assert cancel.status_code == 200
    assert cancel.json()["status"] == "cancelled"
    assert _subscribe(client, tenant_a, ann).status_code == 201


def test_cancel_twice_is_409(client, catalog, ann, tenant_a):
    sub_id = _subscribe(client, tenant_a, ann).json()["id"]
    url = tenant_a.path(f"/subscriptions/{sub_id}/cancel")
    assert client.post(url, headers=tenant_a.member_headers).status_code == 200
    assert client.post(url, headers=tenant_a.member_headers).status_code == 409


@pytest.mark.parametrize(("delta", "expected"), [(3, 5), (-1, 1)])
def test_quantity_changes(client, catalog, ann, tenant_a, delta, expected):
    sub_id = _subscribe(client, tenant_a, ann).json()["id"]
    response = client.post(
        tenant_a.path(f"/subscriptions/{sub_id}/quantity"),
        json={"delta": delta},
        headers=tenant_a.member_headers,
    )
    assert response.status_code == 200
    assert response.json()["quantity"] == expected


def test_quantity_cannot_reach_zero(client, catalog, ann, tenant_a):
    sub_id = _subscribe(client, tenant_a, ann).json()["id"]
    response = client.post(
        tenant_a.path(f"/subscriptions/{sub_id}/quantity"),
        json={"delta": -2},
        headers=tenant_a.member_headers,
    )
    assert response.status_code == 422


def test_cancelled_quantity_does_not_change(client, catalog, ann, tenant_a):
    sub_id = _subscribe(client, tenant_a, ann).json()["id"]
    client.post(tenant_a.path(f"/subscriptions/{sub_id}/cancel"), headers=tenant_a.member_headers)
    response = client.post(
        tenant_a.path(f"/subscriptions/{sub_id}/quantity"),
        json={"delta": 1},
        headers=tenant_a.member_headers,
    )
    assert response.status_code == 409


def test_unknown_service_is_404(client, catalog, ann, tenant_a):
    assert _subscribe(client, tenant_a, ann, code="nope").status_code == 404


def test_unknown_customer_is_404(client, catalog, tenant_a):
    ghost = SimpleNamespace(id=uuid.uuid4())
    assert _subscribe(client, tenant_a, ghost).status_code == 404


def test_unknown_subscription_is_404(client, tenant_a):
    response = client.post(
        tenant_a.path(f"/subscriptions/{uuid.uuid4()}/cancel"), headers=tenant_a.member_headers
    )
    assert response.status_code == 404


def test_period_ending_before_start_is_422(client, catalog, ann, tenant_a):
    response = _subscribe(client, tenant_a, ann, ended_on="2025-12-01")
    assert response.status_code == 422


def test_list_filters_by_customer(client, db_session, catalog, ann, tenant_a):
    bob = factories.customer(db_session, tenant_a.org, "Bob")
    _subscribe(client, tenant_a, ann)
    _subscribe(client, tenant_a, bob, code="storage")
    response = client.get(
        tenant_a.path("/subscriptions"),
        params={"customer_id": str(bob.id)},
        headers=tenant_a.member_headers,
    )
    assert [s["customer_id"] for s in response.json()] == [str(bob.id)]


def test_cancel_sets_end_date(client, catalog, ann, tenant_a):
    sub_id = _subscribe(client, tenant_a, ann).json()["id"]
    body = client.post(
        tenant_a.path(f"/subscriptions/{sub_id}/cancel"), headers=tenant_a.member_headers
    ).json()
    assert body["ended_on"] == max(dt.date.today(), dt.date(2026, 1, 1)).isoformat()
