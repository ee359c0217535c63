"""Shared fixtures for the shop's test suite (pytest-django on pgstack)."""

from decimal import Decimal
from itertools import count

import pytest

# pgstack: each xdist worker's database is a clone of a template that `manage.py migrate`
# built once; pytest-django uses it as the test database instead of creating and
# migrating test_<name> in every worker.
from pgstack.django import django_db_setup  # noqa: F401

from catalog.models import Category, Product

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # The default PBKDF2 hasher costs ~0.3 s per user; the suite creates many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(
        email="alice@example.com", password=PASSWORD, display_name="Alice"
    )


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(email="bob@example.com", password=PASSWORD)


@pytest.fixture
def auth_client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def books(db) -> Category:
    """A category created by the data migration ``catalog.0002_default_categories``."""
    return Category.objects.get(slug="books")


@pytest.fixture
def make_product(db, books):
    numbers = count(1)

    def make(**fields) -> Product:
        number = next(numbers)
        fields.setdefault("category", books)
        fields.setdefault("name", f"Product {number}")
        fields.setdefault("slug", f"product-{number}")
        fields.setdefault("price", Decimal("10.00"))
        fields.setdefault("stock", 10)
        return Product.objects.create(**fields)

    return make


@pytest.fixture
def product(make_product) -> Product:
    return make_product(name="Paperback", slug="paperback", price=Decimal("12.50"), stock=5)


@pytest.fixture
def gadget(make_product) -> Product:
    return make_product(name="Gadget", slug="gadget", price=Decimal("99.99"), stock=2)
