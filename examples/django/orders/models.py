from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import DecimalField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Coalesce

MONEY = DecimalField(max_digits=12, decimal_places=2)


class OrderQuerySet(models.QuerySet):
    def with_total(self) -> "OrderQuerySet":
        line_total = ExpressionWrapper(
            F("lines__quantity") * F("lines__unit_price"), output_field=MONEY
        )
        return self.annotate(
            total=Coalesce(Sum(line_total), Value(Decimal("0.00")), output_field=MONEY)
        )

    def for_user(self, user) -> "OrderQuerySet":
        return self.filter(owner=user)


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "paid", "shipped", "cancelled"]),
                name="orders_order_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk} ({self.status})"

    def to_dict(self) -> dict:
        lines = [
            {
                "product": line.product.slug,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
            }
            for line in self.lines.all()
        ]
        total = getattr(self, "total", None)
        if total is None:
            total = sum((line.line_total for line in self.lines.all()), Decimal("0.00"))
        return {
            "id": self.pk,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "total": str(total),
            "lines": lines,
        }


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="order_lines"
    )
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="orders_orderline_quantity_positive"
            ),
            models.UniqueConstraint(
                fields=["order", "product"], name="orders_orderline_unique_product"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class OutboxEvent(models.Model):
    """Events written in the same transaction as the change they describe."""

    topic = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"
