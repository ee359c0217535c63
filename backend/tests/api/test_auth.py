"""Sign-up, log-in and bearer tokens through the HTTP API."""

from __future__ import annotations

import uuid

import pytest
from app.core.security import TokenClaims, create_token, verify_password
from app.models import Organization, User, UserRole
from sqlalchemy import select

from tests import factories

pytestmark = [pytest.mark.api, pytest.mark.integration]

SIGNUP = {
    "name": "Initech",
    "slug": "initech",
    "admin_email": "Boss@Initech.example",
    "admin_name": "Bill",
    "admin_password": "tps-reports-1999",
}


def test_signup_creates_organization_and_admin(client, db_session):
    response = client.post("/organizations", json=SIGNUP)
    assert response.status_code == 201, response.text
    body = response.json()
    org_id = uuid.UUID(body["organization"]["id"])
    org = db_session.get(Organization, org_id)
    assert (org.name, org.slug) == ("Initech", "initech")
    admin = db_session.scalars(select(User).where(User.organization_id == org_id)).one()
    assert admin.role == UserRole.admin
    assert admin.email == "Boss@initech.example"  # email-validator lowercases the domain
    assert verify_password("tps-reports-1999", admin.password_hash)
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["id"] == str(admin.id)


def test_signup_with_taken_slug_is_409(client, tenant_a):
    response = client.post("/organizations", json={**SIGNUP, "slug": "acme"})
    assert response.status_code == 409
    assert "acme" in response.json()["detail"]


def test_signup_validation_is_422(client):
    response = client.post("/organizations", json={**SIGNUP, "slug": "Not Valid"})
    assert response.status_code == 422


def test_login_returns_a_working_token(client, tenant_a):
    response = client.post(
        "/auth/token",
        json={
            "organization": "acme",
            "email": "ADMIN@acme.example",  # citext: any case
            "password": factories.PASSWORD,
        },
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["email"] == "admin@acme.example"


@pytest.mark.parametrize(
    ("organization", "email", "password"),
    [
        ("acme", "admin@acme.example", "wrong password"),
        ("acme", "nobody@acme.example", factories.PASSWORD),
        ("no-such-org", "admin@acme.example", factories.PASSWORD),
        ("globex", "admin@acme.example", factories.PASSWORD),
    ],
)
def test_bad_login_is_401(client, tenant_a, tenant_b, organization, email, password):
    response = client.post(
        "/auth/token", json={"organization": organization, "email": email, "password": password}
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "wrong organization, email or password"


def test_inactive_user_cannot_log_in(client, db_session, tenant_a):
    factories.user(db_session, tenant_a.org, "gone@acme.example", active=False)
    response = client.post(
        "/auth/token",
        json={"organization": "acme", "email": "gone@acme.example", "password": factories.PASSWORD},
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not.a.jwt", "Basic YWRtaW46YWRtaW4=", "Bearer " + "x" * 40],
)
def test_protected_endpoint_without_valid_token_is_401(client, tenant_a, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get(tenant_a.path("/customers"), headers=headers)
    assert response.status_code == 401


def test_expired_token_is_401(client, tenant_a):
    claims = TokenClaims(tenant_a.admin.id, tenant_a.org.id, "admin")
    headers = {"Authorization": f"Bearer {create_token(claims, minutes=-5)}"}
    assert client.get("/auth/me", headers=headers).status_code == 401


def test_token_of_deactivated_user_is_401(client, db_session, tenant_a):
    headers = tenant_a.member_headers
    tenant_a.member.is_active = False
    db_session.flush()
    assert client.get("/auth/me", headers=headers).status_code == 401


def test_token_with_forged_organization_is_401(client, tenant_a, tenant_b):
    # A's user id with B's organization: RLS hides A's user under tenant B.
    claims = TokenClaims(tenant_a.admin.id, tenant_b.org.id, "admin")
    headers = {"Authorization": f"Bearer {create_token(claims)}"}
    assert client.get("/auth/me", headers=headers).status_code == 401


def test_admin_adds_a_member_who_can_log_in(client, db_session, tenant_a):
    response = client.post(
        tenant_a.path("/users"),
        json={"email": "new@acme.example", "full_name": "New", "password": "password-123"},
        headers=tenant_a.admin_headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["role"] == "member"
    login = client.post(
        "/auth/token",
        json={"organization": "acme", "email": "new@acme.example", "password": "password-123"},
    )
    assert login.status_code == 200


def test_member_cannot_add_users(client, tenant_a):
    response = client.post(
        tenant_a.path("/users"),
        json={"email": "x@acme.example", "full_name": "X", "password": "password-123"},
        headers=tenant_a.member_headers,
    )
    assert response.status_code == 403


def test_duplicate_user_is_409(client, tenant_a):
    response = client.post(
        tenant_a.path("/users"),
        json={"email": "MEMBER@acme.example", "full_name": "Dup", "password": "password-123"},
        headers=tenant_a.admin_headers,
    )
    assert response.status_code == 409


def test_users_list_shows_only_own_organization(client, tenant_a, tenant_b):
    response = client.get(tenant_a.path("/users"), headers=tenant_a.member_headers)
    emails = [u["email"] for u in response.json()]
    assert emails == ["admin@acme.example", "member@acme.example"]


def test_get_own_organization(client, tenant_a):
    response = client.get(tenant_a.path(), headers=tenant_a.member_headers)
    assert response.status_code == 200
    assert response.json() == {"id": str(tenant_a.org.id), "name": "Acme", "slug": "acme"}
