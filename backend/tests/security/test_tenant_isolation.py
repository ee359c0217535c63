"""Tenant A can never read or write tenant B's rows: through the API, and through SQL as
the app role. One test proves the same SQL would leak as a superuser, so the suite knows
it is not running as one."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from app.models import Customer, Organization, Service, Subscription, User
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, ProgrammingError

from tests import factories

pytestmark = [pytest.mark.security, pytest.mark.integration]


@pytest.fixture
def b_data(db_session, tenant_b):
    seat = factories.service(db_session, tenant_b.org, "seat", "5.00")
    cust = factories.customer(db_session, tenant_b.org, "Secret Customer")
    sub = factories.subscription(db_session, cust, seat)
    return {"customer": cust, "service": seat, "subscription": sub}


CROSS_TENANT = [
    ("get", ""),
    ("get", "/users"),
    ("post", "/users"),
    ("get", "/customers"),
    ("post", "/customers"),
    ("get", "/customers/{customer}"),
    ("put", "/customers/{customer}"),
    ("delete", "/customers/{customer}"),
    ("get", "/customers/{customer}/summary"),
    ("get", "/services"),
    ("put", "/services/seat"),
    ("get", "/subscriptions"),
    ("post", "/subscriptions"),
    ("post", "/subscriptions/{subscription}/quantity"),
    ("post", "/subscriptions/{subscription}/cancel"),
    ("get", "/billing/monthly"),
    ("post", "/billing/refresh"),
    ("post", "/billing/jobs"),
    ("get", "/billing/runs"),
]
BODIES = {
    "/users": {"email": "x@x.example", "full_name": "X", "password": "password-123"},
    "/customers": {"name": "X", "email": "x@example.com"},
    "/customers/{customer}": {"name": "X", "email": "x@example.com"},
    "/services/seat": {"name": "Seat", "unit_price": "0.00"},
    "/subscriptions/{subscription}/quantity": {"delta": 1},
}


@pytest.mark.parametrize(
    ("method", "rest"), CROSS_TENANT, ids=[f"{m} {r}" for m, r in CROSS_TENANT]
)
def test_a_token_on_b_paths_is_403(client, tenant_a, tenant_b, b_data, method, rest):
    path = tenant_b.path(
        rest.format(customer=b_data["customer"].id, subscription=b_data["subscription"].id)
    )
    kwargs = {"headers": tenant_a.admin_headers}
    if method in {"post", "put"}:
        kwargs["json"] = BODIES.get(rest, {})
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == 403, (path, response.text)


@pytest.mark.parametrize(
    "rest",
    ["/customers/{customer}", "/customers/{customer}/summary"],
)
def test_b_ids_under_a_path_are_404(client, tenant_a, b_data, rest):
    path = tenant_a.path(rest.format(customer=b_data["customer"].id))
    assert client.get(path, headers=tenant_a.admin_headers).status_code == 404


def test_b_subscription_under_a_path_is_404(client, tenant_a, b_data):
    path = tenant_a.path(f"/subscriptions/{b_data['subscription'].id}/cancel")
    assert client.post(path, headers=tenant_a.admin_headers).status_code == 404


def test_a_cannot_subscribe_b_customer(client, db_session, tenant_a, b_data):
    factories.service(db_session, tenant_a.org, "seat", "1.00")
    response = client.post(
        tenant_a.path("/subscriptions"),
        json={
            "customer_id": str(b_data["customer"].id),
            "service_code": "seat",
            "quantity": 1,
            "started_on": "2026-01-01",
        },
        headers=tenant_a.admin_headers,
    )
    assert response.status_code == 404


@pytest.mark.parametrize("model", [Organization, User, Customer, Service, Subscription])
def test_sql_as_app_role_sees_only_current_tenant(db_session, as_tenant, tenant_a, b_data, model):
    seat = factories.service(db_session, tenant_a.org, "seat", "1.00")
    factories.subscription(db_session, factories.customer(db_session, tenant_a.org, "Ann"), seat)
    session = as_tenant(tenant_a)
    column = Organization.id if model is Organization else model.organization_id
    # No WHERE clause: only the policy stands between tenant A and B's rows.
    assert set(session.scalars(select(column))) == {tenant_a.org.id}


def test_sql_without_tenant_sees_nothing(db_session, b_data):
    db_session.execute(text("SELECT set_config('app.org_id', '', true)"))
    db_session.info.pop("org_id", None)
    assert db_session.scalar(select(func.count()).select_from(Customer)) == 0


def test_sql_insert_into_other_tenant_is_refused(as_tenant, tenant_a, tenant_b):
    session = as_tenant(tenant_a)
    with pytest.raises(ProgrammingError, match="row-level security"), session.begin_nested():
        session.execute(
            text("INSERT INTO customers (organization_id, name, email) VALUES (:o, 'x', 'x@x')"),
            {"o": tenant_b.org.id},
        )


def test_sql_update_and_delete_of_other_tenant_touch_nothing(as_tenant, tenant_a, b_data):
    session = as_tenant(tenant_a)
    target = {"id": b_data["customer"].id}
    updated = session.execute(text("UPDATE customers SET name = 'pwned' WHERE id = :id"), target)
    deleted = session.execute(text("DELETE FROM customers WHERE id = :id"), target)
    assert (updated.rowcount, deleted.rowcount) == (0, 0)


def test_materialized_view_is_not_readable_directly(as_tenant, tenant_a):
    session = as_tenant(tenant_a)
    with pytest.raises(ProgrammingError, match="permission denied"), session.begin_nested():
        session.execute(text("SELECT * FROM monthly_revenue"))


def test_the_same_query_leaks_as_superuser(db_session, as_tenant, tenant_a, b_data):
    """Proof that RLS, not luck, isolates tenants: drop to the superuser that pgstack's
    connection logged in as, and B's customer becomes visible from tenant A."""
    session = as_tenant(tenant_a)
    query = select(Customer.id).where(Customer.id == b_data["customer"].id)
    assert session.scalar(query) is None
    session.execute(text("RESET ROLE"))
    try:
        assert session.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
        assert session.scalar(query) == b_data["customer"].id
    finally:
        session.execute(text("SET ROLE app"))
    assert session.scalar(query) is None


def test_app_role_cannot_disable_rls(as_tenant, tenant_a):
    session = as_tenant(tenant_a)
    with pytest.raises(DBAPIError), session.begin_nested():
        session.execute(text("ALTER TABLE customers DISABLE ROW LEVEL SECURITY"))


def test_app_role_logs_in_and_is_isolated(fresh_database):
    """The app's own login role (not SET ROLE) is bound by the same policies."""
    url = make_url(fresh_database.url).set(username="app", password="app")
    url = url.render_as_string(hide_password=False)
    org = uuid.uuid4()
    with psycopg.connect(fresh_database.url) as admin:
        admin.execute(
            "INSERT INTO organizations (id, name, slug) VALUES (%s, 'B', 'b')", (uuid.uuid4(),)
        )
        admin.execute("INSERT INTO organizations (id, name, slug) VALUES (%s, 'A', 'a')", (org,))
    with psycopg.connect(url) as app_conn:
        app_conn.execute("SELECT set_config('app.org_id', %s, false)", (str(org),))
        slugs = app_conn.execute("SELECT slug FROM organizations").fetchall()
    assert slugs == [("a",)]
