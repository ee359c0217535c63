"""Through the HTTP API: what it stores is what the database holds."""

from __future__ import annotations

import uuid

import pytest
from app.models import Customer, Organization
from sqlalchemy import select

pytestmark = [pytest.mark.api, pytest.mark.integration]


def test_post_organization_creates_row(client, db_session):
    response = client.post("/organizations", json={"name": "Globex", "slug": "globex"})
    assert response.status_code == 201, response.text
    body = response.json()
    row = db_session.get(Organization, uuid.UUID(body["id"]))
    assert row is not None
    assert (row.name, row.slug) == ("Globex", "globex")


def test_get_organization_returns_stored_record(client, org):
    response = client.get(f"/organizations/{org.id}")
    assert response.status_code == 200
    assert response.json() == {"id": str(org.id), "name": "Acme", "slug": "acme"}


def test_duplicate_slug_is_409(client, org):
    response = client.post("/organizations", json={"name": "Other", "slug": "acme"})
    assert response.status_code == 409
    assert "acme" in response.json()["detail"]


def test_invalid_slug_is_422(client):
    response = client.post("/organizations", json={"name": "Bad", "slug": "Not Valid!"})
    assert response.status_code == 422


def test_unknown_organization_is_404(client):
    response = client.get(f"/organizations/{uuid.uuid4()}")
    assert response.status_code == 404


def test_post_customer_stores_jsonb_and_citext(client, db_session, org):
    payload = {"name": "Ann", "email": "Ann@Example.com", "attributes": {"tier": "gold"}}
    response = client.post(f"/organizations/{org.id}/customers", json=payload)
    assert response.status_code == 201, response.text
    # citext: a lookup in another case finds the row; JSONB: a containment query matches.
    found = db_session.scalars(
        select(Customer).where(
            Customer.email == "ann@example.com",
            Customer.attributes.contains({"tier": "gold"}),
        )
    ).one()
    assert str(found.id) == response.json()["id"]


def test_duplicate_customer_email_ignores_case(client, org):
    url = f"/organizations/{org.id}/customers"
    assert client.post(url, json={"name": "A", "email": "a@example.com"}).status_code == 201
    response = client.post(url, json={"name": "B", "email": "A@EXAMPLE.COM"})
    assert response.status_code == 409


def test_list_customers_is_sorted_and_scoped(client, db_session, org):
    other = Organization(name="Other", slug="other")
    db_session.add(other)
    db_session.flush()
    db_session.add_all(
        [
            Customer(organization_id=org.id, name="Zed", email="z@example.com"),
            Customer(organization_id=org.id, name="Amy", email="amy@example.com"),
            Customer(organization_id=other.id, name="Bob", email="b@example.com"),
        ]
    )
    db_session.commit()
    names = [c["name"] for c in client.get(f"/organizations/{org.id}/customers").json()]
    assert names == ["Amy", "Zed"]
