from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db


@pytest.mark.django_db(databases=["default", "analytics"])  # it reads both histories
def test_models_and_migrations_agree():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # makemigrations --check exits 1 when a migration is missing
        pytest.fail(f"Models changed without a migration:\n{out.getvalue()}\n(exit {exc.code})")


@pytest.mark.django_db(databases=["default", "analytics"])
@pytest.mark.parametrize("alias", ["default", "analytics"])
def test_every_migration_is_applied(alias):
    executor = MigrationExecutor(connections[alias])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    assert plan == []
