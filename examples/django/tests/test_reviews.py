import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from reviews.models import Review

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("rating", [0, 6])
def test_rating_outside_one_to_five_is_rejected(user, product, rating):
    with (
        pytest.raises(IntegrityError, match="reviews_review_rating_range"),
        transaction.atomic(),
    ):
        Review.objects.create(author=user, product=product, rating=rating)


def test_rating_bounds_are_accepted(user, other_user, product):
    Review.objects.create(author=user, product=product, rating=1)
    Review.objects.create(author=other_user, product=product, rating=5)
    assert sorted(product.reviews.values_list("rating", flat=True)) == [1, 5]


def test_one_review_per_author_and_product(user, other_user, product):
    Review.objects.create(author=user, product=product, rating=4)
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(author=user, product=product, rating=1)
    Review.objects.create(author=other_user, product=product, rating=1)
    assert product.reviews.count() == 2


def test_full_clean_reports_rating_and_duplicate(user, product):
    Review.objects.create(author=user, product=product, rating=3)
    with pytest.raises(ValidationError) as excinfo:
        Review(author=user, product=product, rating=9).full_clean()
    errors = excinfo.value.message_dict
    assert "rating" in errors
    assert "__all__" in errors  # the (author, product) unique constraint
