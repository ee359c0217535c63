"""Pure logic: no database."""

from __future__ import annotations

import uuid

import pytest
from app.api.routes.customers import cache_key
from app.schemas import CustomerIn, OrganizationIn
from pydantic import ValidationError

pytestmark = pytest.mark.unit


def test_cache_key_names_the_customer():
    customer_id = uuid.UUID(int=1)
    assert cache_key(customer_id) == f"customer:{customer_id}"


@pytest.mark.parametrize("slug", ["UPPER", "with space", "", "semi;colon"])
def test_bad_slugs_are_rejected(slug):
    with pytest.raises(ValidationError):
        OrganizationIn(name="x", slug=slug)


def test_customer_email_must_be_an_email():
    with pytest.raises(ValidationError):
        CustomerIn(name="x", email="not-an-email")
