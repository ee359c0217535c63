from django.db import models


class ProductView(models.Model):
    """One view of a product page. In the analytics database: no foreign key to the
    catalog (a relation cannot cross databases), the product's slug instead."""

    product_slug = models.SlugField(max_length=120, db_index=True)
    viewed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-viewed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.product_slug} at {self.viewed_at:%Y-%m-%d %H:%M}"
