from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Product
from orders.models import Order, OutboxEvent
from orders.services import (
    EmptyOrder,
    InsufficientStock,
    InvalidQuantity,
    OrderNotCancellable,
    ProductUnavailable,
    cancel_order,
    place_order,
)

pytestmark = pytest.mark.django_db


def stock_of(product: Product) -> int:
    product.refresh_from_db(fields=["stock"])
    return product.stock


def test_place_order_creates_lines_and_decrements_stock(user, product, gadget):
    order = place_order(user, [(product.pk, 2), (gadget.pk, 1)])

    assert order.owner == user
    assert order.status == Order.Status.PENDING
    lines = {line.product_id: line for line in order.lines.all()}
    assert lines[product.pk].quantity == 2
    assert lines[product.pk].unit_price == Decimal("12.50")
    assert stock_of(product) == 3
    assert stock_of(gadget) == 1
    assert Order.objects.with_total().get(pk=order.pk).total == Decimal("124.99")


def test_repeated_product_is_merged_into_one_line(user, product):
    order = place_order(user, [(product.pk, 1), (product.pk, 2)])
    assert [(line.product_id, line.quantity) for line in order.lines.all()] == [(product.pk, 3)]
    assert stock_of(product) == 2


def test_insufficient_stock_raises_and_changes_nothing(user, product, gadget):
    with pytest.raises(InsufficientStock) as excinfo:
        place_order(user, [(product.pk, 1), (gadget.pk, 3)])

    assert excinfo.value.product == gadget
    assert (excinfo.value.requested, excinfo.value.available) == (3, 2)
    assert stock_of(product) == 5
    assert stock_of(gadget) == 2
    assert not Order.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_exact_stock_can_be_sold_out(user, gadget):
    place_order(user, [(gadget.pk, 2)])
    assert stock_of(gadget) == 0
    with pytest.raises(InsufficientStock):
        place_order(user, [(gadget.pk, 1)])


def test_inactive_or_unknown_product_is_unavailable(user, make_product):
    hidden = make_product(is_active=False)
    with pytest.raises(ProductUnavailable) as excinfo:
        place_order(user, [(hidden.pk, 1), (hidden.pk + 10_000, 1)])
    assert excinfo.value.product_ids == [hidden.pk, hidden.pk + 10_000]


def test_quantities_must_be_positive_integers(user, product):
    for quantity in (0, -1, 1.5, True):
        with pytest.raises(InvalidQuantity):
            place_order(user, [(product.pk, quantity)])
    with pytest.raises(EmptyOrder):
        place_order(user, [])
    assert stock_of(product) == 5


def test_products_are_locked_in_primary_key_order(user, product, gadget):
    with CaptureQueriesContext(connection) as queries:
        place_order(user, [(gadget.pk, 1), (product.pk, 1)])
    locking = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    assert len(locking) == 1
    assert 'ORDER BY "catalog_product"."id" ASC' in locking[0]


def test_outbox_event_is_written_with_the_order(user, product):
    order = place_order(user, [(product.pk, 1)])
    event = OutboxEvent.objects.get(topic="order.placed")
    assert event.payload == {"order_id": order.pk, "user_id": user.pk, "items": 1}
    assert event.dispatched_at is None


def test_confirmation_waits_for_commit(
    user, product, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        order = place_order(user, [(product.pk, 2)])
    assert len(callbacks) == 1
    assert mailoutbox == []

    callbacks[0]()

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [user.email]
    assert mailoutbox[0].subject == f"Your order #{order.pk}"
    assert "25.00" in mailoutbox[0].body
    assert OutboxEvent.objects.get(topic="order.placed").dispatched_at is not None


def test_failed_order_schedules_nothing(
    user, gadget, mailoutbox, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(InsufficientStock),
    ):
        place_order(user, [(gadget.pk, 99)])
    assert callbacks == []
    assert mailoutbox == []


def test_cancel_order_restores_stock(user, product, gadget):
    order = place_order(user, [(product.pk, 4), (gadget.pk, 2)])
    cancel_order(order)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert (stock_of(product), stock_of(gadget)) == (5, 2)
    assert OutboxEvent.objects.filter(topic="order.cancelled").count() == 1


def test_only_pending_orders_can_be_cancelled(user, product):
    order = place_order(user, [(product.pk, 1)])
    Order.objects.filter(pk=order.pk).update(status=Order.Status.SHIPPED)
    with pytest.raises(OrderNotCancellable):
        cancel_order(order)
    assert stock_of(product) == 4
