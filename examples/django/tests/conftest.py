"""Shared fixtures for the tests in this folder (pytest-django on pgstack).

Nothing here sets the database up: pgstack does, for tests in any folder (the apps' own
tests/ folders too), because [tool.pgstack] says migrator = "django".
"""

from decimal import Decimal
from itertools import count

import pytest

from catalog.models import Category, Product

PASSWORD = "correct-horse-battery"


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
