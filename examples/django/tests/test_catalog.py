from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from catalog.models import UNCATEGORIZED_SLUG, Category, Product
from reviews.models import Review

pytestmark = pytest.mark.django_db


def test_data_migration_created_default_categories():
    slugs = set(Category.objects.values_list("slug", flat=True))
    assert {UNCATEGORIZED_SLUG, "books", "electronics", "home-garden"} <= slugs
    assert Category.objects.get(slug=UNCATEGORIZED_SLUG).name == "Uncategorized"


def test_negative_price_is_rejected_by_the_database(make_product):
    with (
        pytest.raises(IntegrityError, match="catalog_product_price_non_negative"),
        transaction.atomic(),
    ):
        make_product(price=Decimal("-0.01"))
    assert not Product.objects.exists()
    assert make_product(price=Decimal("0.00")).price == Decimal("0.00")


def test_negative_stock_is_rejected_by_the_database(product):
    product.stock = -1
    with pytest.raises(IntegrityError), transaction.atomic():
        product.save()


def test_slug_is_unique(make_product, product):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_product(slug=product.slug)


def test_category_with_products_cannot_be_deleted(product, books):
    with pytest.raises(ProtectedError), transaction.atomic():
        books.delete()
    assert Category.objects.filter(pk=books.pk).exists()


def test_active_and_in_stock_querysets(make_product):
    listed = make_product(stock=3)
    make_product(stock=0)
    make_product(is_active=False, stock=7)
    assert set(Product.objects.active().in_stock()) == {listed}
    assert Product.objects.active().count() == 2


def test_with_rating_annotation(product, user, other_user):
    Review.objects.create(author=user, product=product, rating=5)
    Review.objects.create(author=other_user, product=product, rating=2)
    annotated = Product.objects.with_rating().get(pk=product.pk)
    assert annotated.review_count == 2
    assert annotated.average_rating == pytest.approx(3.5)
