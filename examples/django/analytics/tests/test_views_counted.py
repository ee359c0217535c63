"""Tests inside an app, with no conftest.py above them: pgstack sets Django's databases up
for every test folder, including the analytics alias's own clone."""

import pytest
from django.db import connections

from analytics.models import ProductView
from analytics.services import most_viewed, record_view

pytestmark = pytest.mark.django_db(databases=["default", "analytics"])


def test_views_are_counted_per_product():
    for slug in ["paperback", "gadget", "paperback"]:
        record_view(slug)
    assert most_viewed() == [("paperback", 2), ("gadget", 1)]


def test_each_test_starts_with_no_views():
    assert not ProductView.objects.exists()


def test_views_live_in_the_analytics_database_only():
    record_view("paperback")
    with connections["analytics"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analytics_productview")
        assert cursor.fetchone() == (1,)
        cursor.execute("SELECT to_regclass('catalog_product')")
        assert cursor.fetchone() == (None,)
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT to_regclass('analytics_productview')")
        assert cursor.fetchone() == (None,)
