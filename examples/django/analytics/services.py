"""Recording product views and reading the most viewed products."""

from django.db.models import Count

from analytics.models import ProductView


def record_view(product_slug: str) -> ProductView:
    return ProductView.objects.create(product_slug=product_slug)


def most_viewed(limit: int = 5) -> list[tuple[str, int]]:
    rows = (
        ProductView.objects.values("product_slug")
        .annotate(views=Count("pk"))
        .order_by("-views", "product_slug")[:limit]
    )
    return [(row["product_slug"], row["views"]) for row in rows]
