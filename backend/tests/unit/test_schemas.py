"""Request validation rules."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from app.schemas import CustomerIn, QuantityChange, ServiceIn, SignupIn, SubscriptionIn
from pydantic import ValidationError

pytestmark = pytest.mark.unit

SIGNUP = {
    "name": "Acme",
    "slug": "acme",
    "admin_email": "a@acme.example",
    "admin_name": "Ann",
    "admin_password": "long-enough",
}


def test_valid_signup():
    assert SignupIn(**SIGNUP).slug == "acme"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("slug", "UPPER"),
        ("slug", "with space"),
        ("slug", ""),
        ("slug", "semi;colon"),
        ("slug", "x" * 64),
        ("name", ""),
        ("admin_email", "not-an-email"),
        ("admin_password", "short"),
    ],
)
def test_invalid_signup(field, value):
    with pytest.raises(ValidationError):
        SignupIn(**{**SIGNUP, field: value})


@pytest.mark.parametrize("email", ["plain", "a@", "@b.com", "a b@c.com"])
def test_customer_email_must_be_an_email(email):
    with pytest.raises(ValidationError):
        CustomerIn(name="x", email=email)


@pytest.mark.parametrize("price", ["-0.01", "1.001", "12345678901.00"])
def test_invalid_service_price(price):
    with pytest.raises(ValidationError):
        ServiceIn(name="x", unit_price=price)


def _subscription(**changes):
    base = {
        "customer_id": uuid.uuid4(),
        "service_code": "seat",
        "quantity": 1,
        "started_on": dt.date(2026, 1, 1),
    }
    return SubscriptionIn(**{**base, **changes})


@pytest.mark.parametrize(
    "changes",
    [
        {"quantity": 0},
        {"quantity": -3},
        {"service_code": "Bad Code"},
        {"ended_on": dt.date(2025, 12, 31)},
    ],
)
def test_invalid_subscription(changes):
    with pytest.raises(ValidationError):
        _subscription(**changes)


def test_subscription_may_end_the_day_it_starts():
    assert _subscription(ended_on=dt.date(2026, 1, 1)).ended_on == dt.date(2026, 1, 1)


def test_zero_quantity_change_is_refused():
    with pytest.raises(ValidationError):
        QuantityChange(delta=0)
