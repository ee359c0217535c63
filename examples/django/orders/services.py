"""Order placement: the one place where stock changes hands."""

from collections import Counter
from collections.abc import Iterable

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from catalog.models import Product
from orders.models import Order, OrderLine, OutboxEvent


class OrderError(Exception):
    """Base class for every reason an order cannot be placed or changed."""


class EmptyOrder(OrderError):
    pass


class InvalidQuantity(OrderError):
    pass


class ProductUnavailable(OrderError):
    def __init__(self, product_ids: Iterable[int]) -> None:
        self.product_ids = sorted(product_ids)
        super().__init__(f"Products not available: {self.product_ids}")


class InsufficientStock(OrderError):
    def __init__(self, product: Product, requested: int) -> None:
        self.product = product
        self.requested = requested
        self.available = product.stock
        super().__init__(
            f"Only {product.stock} of {product.slug!r} in stock, {requested} requested."
        )


class OrderNotCancellable(OrderError):
    pass


def _merge_items(items: Iterable[tuple[int, int]]) -> dict[int, int]:
    wanted: Counter[int] = Counter()
    for product_id, quantity in items:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise InvalidQuantity(f"Quantity must be a positive integer, got {quantity!r}.")
        wanted[int(product_id)] += quantity
    if not wanted:
        raise EmptyOrder("An order needs at least one line.")
    return dict(wanted)


def send_order_confirmation(order_id: int) -> None:
    """Runs after the order's transaction committed; never sees a rolled-back order."""
    order = Order.objects.with_total().select_related("owner").get(pk=order_id)
    send_mail(
        subject=f"Your order #{order.pk}",
        message=f"Thank you for your order. Total: {order.total}.",
        from_email=None,
        recipient_list=[order.owner.email],
    )
    OutboxEvent.objects.filter(topic="order.placed", payload__order_id=order.pk).update(
        dispatched_at=timezone.now()
    )


def place_order(user, items: Iterable[tuple[int, int]]) -> Order:
    """Place an order for ``items``: ``(product_id, quantity)`` pairs.

    The products are locked (``SELECT ... FOR UPDATE``, in primary-key order so two orders
    cannot deadlock) before their stock is checked, so concurrent orders cannot oversell.
    Either everything happens, or nothing does.
    """
    wanted = _merge_items(items)
    with transaction.atomic():
        products = {
            product.pk: product
            for product in Product.objects.select_for_update()
            .filter(pk__in=wanted, is_active=True)
            .order_by("pk")
        }
        missing = set(wanted) - set(products)
        if missing:
            raise ProductUnavailable(missing)
        for product_id, quantity in wanted.items():
            if products[product_id].stock < quantity:
                raise InsufficientStock(products[product_id], quantity)

        order = Order.objects.create(owner=user)
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                product=products[product_id],
                quantity=quantity,
                unit_price=products[product_id].price,
            )
            for product_id, quantity in sorted(wanted.items())
        )
        for product_id, quantity in wanted.items():
            product = products[product_id]
            product.stock -= quantity
            product.save(update_fields=["stock", "updated_at"])
        OutboxEvent.objects.create(
            topic="order.placed",
            payload={"order_id": order.pk, "user_id": user.pk, "items": len(wanted)},
        )
        transaction.on_commit(lambda: send_order_confirmation(order.pk))
    return order


def cancel_order(order: Order) -> Order:
    """Cancel a pending order and put its stock back."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status != Order.Status.PENDING:
            raise OrderNotCancellable(f"Order #{order.pk} is {order.status}.")
        lines = list(order.lines.all())
        products = Product.objects.select_for_update().filter(
            pk__in=[line.product_id for line in lines]
        )
        by_id = {product.pk: product for product in products.order_by("pk")}
        for line in lines:
            product = by_id[line.product_id]
            product.stock += line.quantity
            product.save(update_fields=["stock", "updated_at"])
        order.status = Order.Status.CANCELLED
        order.save(update_fields=["status"])
        OutboxEvent.objects.create(topic="order.cancelled", payload={"order_id": order.pk})
    return order
