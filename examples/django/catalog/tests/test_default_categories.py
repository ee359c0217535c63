"""Tests inside an app, with no conftest.py above them (the shared fixtures are in
tests/conftest.py): pgstack's database setup reaches them all the same."""

import pytest
from django.db import connection

from catalog.models import Category

pytestmark = pytest.mark.django_db


def test_the_data_migration_ran_once_into_the_template():
    slugs = set(Category.objects.values_list("slug", flat=True))
    assert {"uncategorized", "books", "electronics", "home-garden"} <= slugs


def test_the_database_is_a_pgstack_clone():
    assert connection.settings_dict["NAME"].startswith("pgstack_")
