"""Customers through the HTTP API: what it stores is what the database holds."""

from __future__ import annotations

import uuid

import pytest
from app.models import Customer
from sqlalchemy import select

from tests import factories

pytestmark = [pytest.mark.api, pytest.mark.integration]


@pytest.fixture
def people(db_session, tenant_a):
    return [
        factories.customer(db_session, tenant_a.org, "Zed Zulu", tier="gold"),
        factories.customer(db_session, tenant_a.org, "Amy Alpha", tier="silver"),
        factories.customer(db_session, tenant_a.org, "Mia Mike", tier="gold"),
    ]


def test_post_creates_row_with_the_values(client, as_tenant, tenant_a):
    payload = {"name": "Ann", "email": "Ann@Example.com", "attributes": {"tier": "gold"}}
    response = client.post(
        tenant_a.path("/customers"), json=payload, headers=tenant_a.member_headers
    )
    assert response.status_code == 201, response.text
    row = as_tenant(tenant_a).get(Customer, uuid.UUID(response.json()["id"]))
    assert (row.name, row.email, row.attributes) == ("Ann", "Ann@example.com", {"tier": "gold"})
    assert row.organization_id == tenant_a.org.id


def test_post_stores_jsonb_queryable_by_containment(client, as_tenant, tenant_a):
    payload = {"name": "Bo", "email": "bo@example.com", "attributes": {"tags": ["vip", "eu"]}}
    client.post(tenant_a.path("/customers"), json=payload, headers=tenant_a.member_headers)
    found = (
        as_tenant(tenant_a)
        .scalars(select(Customer).where(Customer.attributes.contains({"tags": ["eu"]})))
        .one()
    )
    assert found.name == "Bo"


def test_get_returns_stored_record(client, people, tenant_a):
    zed = people[0]
    response = client.get(tenant_a.path(f"/customers/{zed.id}"), headers=tenant_a.member_headers)
    assert response.status_code == 200
    assert response.json() == {
        "id": str(zed.id),
        "organization_id": str(tenant_a.org.id),
        "name": "Zed Zulu",
        "email": "zed.zulu@example.com",
        "attributes": {"tier": "gold"},
    }


def test_unknown_customer_is_404(client, tenant_a):
    response = client.get(
        tenant_a.path(f"/customers/{uuid.uuid4()}"), headers=tenant_a.member_headers
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Amy Alpha", "Mia Mike", "Zed Zulu"]),
        ("-name", ["Zed Zulu", "Mia Mike", "Amy Alpha"]),
        ("email", ["Amy Alpha", "Mia Mike", "Zed Zulu"]),
        ("-email", ["Zed Zulu", "Mia Mike", "Amy Alpha"]),
    ],
)
def test_list_sorts(client, people, tenant_a, sort, expected):
    response = client.get(
        tenant_a.path("/customers"), params={"sort": sort}, headers=tenant_a.member_headers
    )
    assert [c["name"] for c in response.json()] == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [("mi", ["Mia Mike"]), ("A", ["Amy Alpha", "Mia Mike"]), ("zz", []), ("ZULU", ["Zed Zulu"])],
)
def test_list_filters_by_name(client, people, tenant_a, q, expected):
    response = client.get(
        tenant_a.path("/customers"), params={"q": q}, headers=tenant_a.member_headers
    )
    assert [c["name"] for c in response.json()] == expected


def test_list_filters_by_attribute(client, people, tenant_a):
    response = client.get(
        tenant_a.path("/customers"), params={"attr": "tier:gold"}, headers=tenant_a.member_headers
    )
    assert [c["name"] for c in response.json()] == ["Mia Mike", "Zed Zulu"]


def test_list_paginates(client, people, tenant_a):
    pages = [
        client.get(
            tenant_a.path("/customers"),
            params={"limit": 2, "offset": offset},
            headers=tenant_a.member_headers,
        ).json()
        for offset in (0, 2)
    ]
    assert [[c["name"] for c in page] for page in pages] == [
        ["Amy Alpha", "Mia Mike"],
        ["Zed Zulu"],
    ]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"offset": -1}])
def test_bad_pagination_is_422(client, tenant_a, params):
    response = client.get(
        tenant_a.path("/customers"), params=params, headers=tenant_a.member_headers
    )
    assert response.status_code == 422


def test_put_updates_the_row(client, as_tenant, people, tenant_a):
    amy = people[1]
    response = client.put(
        tenant_a.path(f"/customers/{amy.id}"),
        json={"name": "Amy B", "email": "amy.b@example.com", "attributes": {}},
        headers=tenant_a.member_headers,
    )
    assert response.status_code == 200
    session = as_tenant(tenant_a)
    session.expire_all()
    assert session.get(Customer, amy.id).name == "Amy B"


def test_put_to_an_existing_email_is_409(client, people, tenant_a):
    response = client.put(
        tenant_a.path(f"/customers/{people[1].id}"),
        json={"name": "Amy", "email": "ZED.ZULU@example.com"},
        headers=tenant_a.member_headers,
    )
    assert response.status_code == 409


def test_delete_removes_the_row(client, as_tenant, people, tenant_a):
    response = client.delete(
        tenant_a.path(f"/customers/{people[0].id}"), headers=tenant_a.member_headers
    )
    assert response.status_code == 204
    assert as_tenant(tenant_a).get(Customer, people[0].id) is None


def test_duplicate_email_ignores_case_and_is_409(client, tenant_a):
    url = tenant_a.path("/customers")
    first = client.post(
        url, json={"name": "A", "email": "a@example.com"}, headers=tenant_a.member_headers
    )
    assert first.status_code == 201
    second = client.post(
        url, json={"name": "B", "email": "A@EXAMPLE.COM"}, headers=tenant_a.member_headers
    )
    assert second.status_code == 409


def test_same_email_in_two_organizations_is_fine(client, tenant_a, tenant_b):
    payload = {"name": "Shared", "email": "shared@example.com"}
    for tenant in (tenant_a, tenant_b):
        response = client.post(
            tenant.path("/customers"), json=payload, headers=tenant.member_headers
        )
        assert response.status_code == 201


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "x@example.com"},
        {"name": "", "email": "x@example.com"},
        {"name": "X", "email": "nope"},
        {"name": "X", "email": "x@example.com", "attributes": "not-an-object"},
    ],
)
def test_invalid_customer_is_422(client, tenant_a, payload):
    response = client.post(
        tenant_a.path("/customers"), json=payload, headers=tenant_a.member_headers
    )
    assert response.status_code == 422
