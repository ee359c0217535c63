import pytest
from django.urls import reverse

from orders.services import place_order
from reviews.models import Review

pytestmark = pytest.mark.django_db

MODELS = [
    "accounts_user",
    "catalog_category",
    "catalog_product",
    "orders_order",
    "orders_orderline",
    "orders_outboxevent",
    "reviews_review",
]


@pytest.fixture
def some_data(user, product):
    place_order(user, [(product.pk, 1)])
    Review.objects.create(author=user, product=product, rating=4)


def test_every_changelist_loads(admin_client, some_data):
    for model in MODELS:
        response = admin_client.get(reverse(f"admin:{model}_changelist"))
        assert response.status_code == 200, model


def test_changelist_search_and_change_page(admin_client, user, product):
    response = admin_client.get(reverse("admin:accounts_user_changelist"), {"q": "alice"})
    assert response.status_code == 200
    assert b"alice@example.com" in response.content
    response = admin_client.get(reverse("admin:catalog_product_change", args=[product.pk]))
    assert response.status_code == 200


def test_admin_creates_user_with_email_only(admin_client, django_user_model):
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "New.Person@Example.com",
            "display_name": "New Person",
            "password1": "a-long-enough-pass-42",
            "password2": "a-long-enough-pass-42",
        },
    )
    assert response.status_code == 302
    created = django_user_model.objects.get(email__iexact="new.person@example.com")
    assert created.display_name == "New Person"
    assert created.check_password("a-long-enough-pass-42")


def test_admin_needs_staff(auth_client):
    response = auth_client.get(reverse("admin:catalog_product_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
