from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from orders.models import Order, OrderLine

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(user):
    return Order.objects.create(owner=user)


def test_line_quantity_must_be_positive(order, product):
    with (
        pytest.raises(IntegrityError, match="orders_orderline_quantity_positive"),
        transaction.atomic(),
    ):
        OrderLine.objects.create(order=order, product=product, quantity=0, unit_price=1)


def test_product_appears_once_per_order(order, product):
    OrderLine.objects.create(order=order, product=product, quantity=1, unit_price=1)
    with (
        pytest.raises(IntegrityError, match="orders_orderline_unique_product"),
        transaction.atomic(),
    ):
        OrderLine.objects.create(order=order, product=product, quantity=2, unit_price=1)


def test_unknown_status_is_rejected_by_the_database(order):
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(status="lost")


def test_ordered_product_cannot_be_deleted(order, product):
    OrderLine.objects.create(order=order, product=product, quantity=1, unit_price=1)
    with pytest.raises(ProtectedError), transaction.atomic():
        product.delete()


def test_total_annotation(order, product, gadget, user):
    OrderLine.objects.create(order=order, product=product, quantity=3, unit_price=Decimal("2.50"))
    OrderLine.objects.create(order=order, product=gadget, quantity=1, unit_price=Decimal("0.99"))
    empty = Order.objects.create(owner=user)
    totals = dict(Order.objects.with_total().values_list("pk", "total"))
    assert totals == {order.pk: Decimal("8.49"), empty.pk: Decimal("0.00")}
