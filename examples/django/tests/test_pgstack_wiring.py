"""The suite really runs on pgstack's per-worker clone, not on a database of its own."""

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections
from pgstack.django import check_database
from pgstack.errors import ConfigError

pytestmark = pytest.mark.django_db


def test_django_uses_this_workers_clone(pgstack_worker):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        (database,) = cursor.fetchone()
    assert database == pgstack_worker.name
    assert connection.settings_dict["NAME"] == pgstack_worker.name


@pytest.mark.django_db(databases=["default", "analytics"])
def test_the_analytics_alias_has_this_workers_own_clone(pgstack_worker):
    with connections["analytics"].cursor() as cursor:
        cursor.execute("SELECT current_database()")
        (database,) = cursor.fetchone()
    assert database == connections["analytics"].settings_dict["NAME"]
    assert database.startswith(pgstack_worker.name + "_")  # not shop_analytics
    assert pgstack_worker.alias_urls["analytics"].endswith("/" + database)


def test_pytest_django_created_no_database_of_its_own():
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'test\\_%'")
        assert cursor.fetchall() == []


def test_a_django_pointing_elsewhere_is_refused(pgstack_worker, monkeypatch):
    monkeypatch.setitem(django_settings.DATABASES["default"], "NAME", "shop")
    with pytest.raises(ConfigError, match="uses database 'shop', but pgstack gave"):
        check_database(pgstack_worker)
