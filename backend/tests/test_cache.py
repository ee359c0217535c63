"""The read-through Redis cache, against this worker's own Redis database."""

from __future__ import annotations

import pytest
from app.api.routes.customers import cache_key
from app.models import Customer

pytestmark = [pytest.mark.api, pytest.mark.integration]


@pytest.fixture
def customer(db_session, org):
    row = Customer(organization_id=org.id, name="Ann", email="ann@example.com")
    db_session.add(row)
    db_session.commit()
    return row


def test_get_fills_cache(client, redis_client, org, customer):
    assert redis_client.get(cache_key(customer.id)) is None
    assert client.get(f"/organizations/{org.id}/customers/{customer.id}").status_code == 200
    assert b'"Ann"' in redis_client.get(cache_key(customer.id))


def test_second_get_is_served_from_cache(client, db_session, org, customer):
    url = f"/organizations/{org.id}/customers/{customer.id}"
    assert client.get(url).json()["name"] == "Ann"
    customer.name = "Changed behind the cache"
    db_session.commit()
    assert client.get(url).json()["name"] == "Ann"


def test_update_invalidates_cache(client, redis_client, org, customer):
    url = f"/organizations/{org.id}/customers/{customer.id}"
    client.get(url)
    response = client.put(url, json={"name": "Anna", "email": "ann@example.com"})
    assert response.status_code == 200
    assert redis_client.get(cache_key(customer.id)) is None
    assert client.get(url).json()["name"] == "Anna"


@pytest.mark.parametrize("attempt", range(3))
def test_redis_starts_empty_for_every_test(redis_client, attempt):
    assert redis_client.dbsize() == 0
    redis_client.set("left-behind", attempt)
