import json
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import Category
from orders.models import Order
from orders.services import place_order
from reviews.models import Review

pytestmark = pytest.mark.django_db

ORDERS_URL = reverse("orders:order-collection")


def post_json(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def test_product_list_shows_active_products(client, product, make_product):
    make_product(name="Retired", slug="retired", is_active=False)
    response = client.get(reverse("catalog:product-list"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "results": [
            {
                "id": product.pk,
                "slug": "paperback",
                "name": "Paperback",
                "category": "books",
                "price": "12.50",
                "stock": 5,
            }
        ]
    }


def test_product_list_filters_by_category(client, product, make_product):
    make_product(slug="radio", category=Category.objects.get(slug="electronics"))
    response = client.get(reverse("catalog:product-list"), {"category": "electronics"})
    assert [item["slug"] for item in response.json()["results"]] == ["radio"]


def test_product_detail_includes_rating(client, product, user, other_user):
    Review.objects.create(author=user, product=product, rating=4)
    Review.objects.create(author=other_user, product=product, rating=5)
    response = client.get(reverse("catalog:product-detail", args=[product.slug]))
    assert response.status_code == 200
    body = response.json()
    assert (body["review_count"], body["average_rating"]) == (2, 4.5)


@pytest.mark.parametrize("slug", ["no-such-product", "retired"])
def test_product_detail_not_found(client, make_product, slug):
    make_product(slug="retired", is_active=False)
    response = client.get(reverse("catalog:product-detail", args=[slug]))
    assert response.status_code == 404
    assert response.json() == {"error": "not_found"}


def test_unsupported_methods_are_refused(auth_client):
    assert auth_client.post(reverse("catalog:product-list")).status_code == 405
    assert auth_client.put(ORDERS_URL).status_code == 405


def test_orders_require_login(client):
    for response in (client.get(ORDERS_URL), client.post(ORDERS_URL)):
        assert response.status_code == 401
        assert response.json() == {"error": "authentication_required"}


def test_place_order(auth_client, user, product, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(
            auth_client, ORDERS_URL, {"items": [{"product": product.pk, "quantity": 2}]}
        )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    assert body["total"] == "25.00"
    assert body["lines"] == [{"product": "paperback", "quantity": 2, "unit_price": "12.50"}]
    assert Order.objects.get(pk=body["id"]).owner == user
    product.refresh_from_db()
    assert product.stock == 3
    assert len(mailoutbox) == 1


def test_place_order_insufficient_stock_is_a_conflict(auth_client, gadget):
    response = post_json(
        auth_client, ORDERS_URL, {"items": [{"product": gadget.pk, "quantity": 5}]}
    )
    assert response.status_code == 409
    assert response.json() == {
        "error": "insufficient_stock",
        "product": "gadget",
        "requested": 5,
        "available": 2,
    }
    assert not Order.objects.exists()


def test_place_order_rejects_bad_payloads(auth_client, product):
    bad = [
        "not json",
        {"items": "nope"},
        {"lines": []},
        {"items": []},
        {"items": [{"product": product.pk}]},
        {"items": [{"product": product.pk, "quantity": -2}]},
    ]
    for payload in bad:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        response = auth_client.post(ORDERS_URL, data=data, content_type="application/json")
        assert response.status_code == 400, payload
        assert response.json()["error"] == "invalid_order"
    product.refresh_from_db()
    assert product.stock == 5


def test_place_order_unknown_product(auth_client, product):
    response = post_json(
        auth_client, ORDERS_URL, {"items": [{"product": product.pk + 1000, "quantity": 1}]}
    )
    assert response.status_code == 400
    assert response.json() == {"error": "product_unavailable", "products": [product.pk + 1000]}


def test_my_orders_lists_only_my_orders(auth_client, user, other_user, product, gadget):
    mine = place_order(user, [(product.pk, 1)])
    place_order(other_user, [(gadget.pk, 1)])
    response = auth_client.get(ORDERS_URL)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(o["id"], o["total"]) for o in results] == [(mine.pk, str(Decimal("12.50")))]


def test_order_detail_is_visible_to_its_owner_only(auth_client, user, other_user, product):
    mine = place_order(user, [(product.pk, 1)])
    theirs = place_order(other_user, [(product.pk, 1)])
    response = auth_client.get(reverse("orders:order-detail", args=[mine.pk]))
    assert (response.status_code, response.json()["id"]) == (200, mine.pk)
    response = auth_client.get(reverse("orders:order-detail", args=[theirs.pk]))
    assert response.status_code == 404


def test_cancel_order_through_the_api(auth_client, user, product):
    order = place_order(user, [(product.pk, 5)])
    url = reverse("orders:order-cancel", args=[order.pk])
    response = auth_client.post(url)
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert auth_client.post(url).status_code == 409
    product.refresh_from_db()
    assert product.stock == 5
