"""The customer summary's read-through cache, on this worker's own Redis database."""

from __future__ import annotations

import pytest
from app.services.summary import cache_key

from tests import factories

pytestmark = [pytest.mark.integration, pytest.mark.api]


@pytest.fixture
def ann(db_session, tenant_a):
    seat = factories.service(db_session, tenant_a.org, "seat", "10.00")
    customer = factories.customer(db_session, tenant_a.org, "Ann")
    factories.subscription(db_session, customer, seat, quantity=3)
    return customer


def _summary(client, tenant, customer):
    return client.get(
        tenant.path(f"/customers/{customer.id}/summary"), headers=tenant.member_headers
    )


def test_miss_then_hit(client, redis_client, ann, tenant_a):
    key = cache_key(tenant_a.org.id, ann.id)
    assert redis_client.exists(key) == 0
    first = _summary(client, tenant_a, ann)
    assert first.headers["X-Cache"] == "miss"
    assert first.json()["monthly_total"] == "30.00"
    assert first.json()["active_subscriptions"] == 1
    assert redis_client.ttl(key) > 0
    second = _summary(client, tenant_a, ann)
    assert second.headers["X-Cache"] == "hit"
    assert second.json() == first.json()


def test_hit_serves_the_cached_copy(client, db_session, ann, tenant_a):
    _summary(client, tenant_a, ann)
    ann.name = "Changed behind the cache"
    db_session.flush()
    assert _summary(client, tenant_a, ann).json()["customer"]["name"] == "Ann"


def test_customer_update_invalidates(client, ann, tenant_a):
    _summary(client, tenant_a, ann)
    client.put(
        tenant_a.path(f"/customers/{ann.id}"),
        json={"name": "Anna", "email": "ann@example.com"},
        headers=tenant_a.member_headers,
    )
    fresh = _summary(client, tenant_a, ann)
    assert fresh.headers["X-Cache"] == "miss"
    assert fresh.json()["customer"]["name"] == "Anna"


def test_new_subscription_invalidates(client, db_session, ann, tenant_a):
    factories.service(db_session, tenant_a.org, "storage", "1.50")
    _summary(client, tenant_a, ann)
    response = client.post(
        tenant_a.path("/subscriptions"),
        json={
            "customer_id": str(ann.id),
            "service_code": "storage",
            "quantity": 2,
            "started_on": "2026-01-01",
        },
        headers=tenant_a.member_headers,
    )
    assert response.status_code == 201
    assert _summary(client, tenant_a, ann).json()["monthly_total"] == "33.00"


def test_delete_invalidates(client, redis_client, ann, tenant_a):
    _summary(client, tenant_a, ann)
    client.delete(tenant_a.path(f"/customers/{ann.id}"), headers=tenant_a.member_headers)
    assert redis_client.exists(cache_key(tenant_a.org.id, ann.id)) == 0
    assert _summary(client, tenant_a, ann).status_code == 404


@pytest.mark.parametrize("attempt", range(3))
def test_redis_starts_empty_for_every_test(redis_client, attempt):
    assert redis_client.dbsize() == 0
    redis_client.set("left-behind", attempt)
