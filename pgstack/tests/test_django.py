"""migrator = "django": inner pytest runs on a small Django project (pytest-django on pgstack).

Issue 15: an app added without touching pgstack's configuration gave `relation "blog_post"
does not exist` while the header said the template was reused; the template's inputs are now
what Django's own loader finds. pgstack provides django_db_setup itself, gives every alias
with a test database of its own a per-worker clone, and reads pytest-django's flags.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import psycopg
import pytest
from conftest import Project, output
from pgstack.errors import ConfigError
from pgstack.migrators import migrator_for
from pgstack.migrators.django import DjangoMigrator
from pgstack.ownership import new_run_id
from pgstack.servers.postgres import EmbeddedPostgres
from pgstack.settings import load_settings
from pgstack.template import ensure_template
from pgstack.template_spec import template_spec

from pgstack import urls

PYPROJECT = """\
[tool.pytest.ini_options]
DJANGO_SETTINGS_MODULE = "settings"

[tool.pgstack]
migrator = "django"
redis = false
"""

MANAGE_PY = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

SETTINGS = """\
import os
from urllib.parse import urlsplit

_url = urlsplit(os.environ["DATABASE_URL"])


def _alias(name, **extra):
    return {{
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "HOST": _url.hostname,
        "PORT": _url.port,
        "USER": _url.username,
        "PASSWORD": _url.password,
        **extra,
    }}


SECRET_KEY = "only-for-this-test"
USE_TZ = True
INSTALLED_APPS = {apps!r}
DATABASES = {{"default": _alias(_url.path.lstrip("/")){aliases}}}
DATABASE_ROUTERS = {routers!r}
"""

MODELS = """\
from django.db import models


class {model}(models.Model):
    title = models.CharField(max_length=100)
"""

MIGRATION = """\
# {comment}
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="{model}",
            fields=[
                ("id", models.AutoField(primary_key=True)),
                ("title", models.CharField(max_length=100)),
            ],
        ),
    ]
"""

ROUTER = """\
class StatsRouter:
    \"\"\"The stats app lives in the analytics database only.\"\"\"

    def db_for_read(self, model, **hints):
        return "analytics" if model._meta.app_label == "stats" else None

    db_for_write = db_for_read

    def allow_migrate(self, db, app_label, **hints):
        if app_label == "stats":
            return db == "analytics"
        return db != "analytics"
"""


def write(root: Path, path: str, text: str) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(textwrap.dedent(text))


@dataclass
class DjangoProject(Project):
    """A Django project; ``run`` is conftest.Project's (Django's migrate makes runs slower)."""

    apps: list[str] = field(default_factory=list)
    run_timeout: ClassVar[float] = 180
    aliases: str = ""
    routers: tuple[str, ...] = ()

    def add_app(self, label: str, model: str, *, unique: str = "") -> None:
        write(self.path, f"{label}/__init__.py", "")
        write(self.path, f"{label}/models.py", MODELS.format(model=model))
        write(self.path, f"{label}/migrations/__init__.py", "")
        migration = MIGRATION.format(model=model, comment=unique or label)
        write(self.path, f"{label}/migrations/0001_initial.py", migration)
        self.apps.append(label)
        self.write_settings()

    def write_settings(self) -> None:
        settings = SETTINGS.format(apps=self.apps, aliases=self.aliases, routers=list(self.routers))
        write(self.path, "settings.py", settings)


@pytest.fixture
def django_project(pytester: pytest.Pytester, pg_server: EmbeddedPostgres) -> DjangoProject:
    """A Django project with one app (blog) and a test in tests/, no conftest.py at all."""
    root = pytester.path
    write(root, "pyproject.toml", PYPROJECT)
    write(root, "manage.py", MANAGE_PY)
    project = DjangoProject(pytester, root, pg_server.url, ["django.contrib.contenttypes"])
    project.add_app("blog", "Post", unique=f"blog for test {uuid.uuid4().hex}")
    write(
        root,
        "tests/test_blog.py",
        """\
        import pytest
        from django.db import connection

        from blog.models import Post


        @pytest.mark.django_db
        def test_post():
            Post.objects.create(title="x")
            assert Post.objects.count() == 1
            assert connection.settings_dict["NAME"].startswith("pgstack_")
        """,
    )
    return project


def pgstack_cli(project: DjangoProject, *args: str) -> subprocess.CompletedProcess[str]:
    """The pgstack command, as users run it, on the shared server."""
    env = {**os.environ, "DATABASE_URL": project.server_url}
    return subprocess.run(
        [sys.executable, "-m", "pgstack.cli", "--project", str(project.path), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )


def template_of(result: pytest.RunResult) -> tuple[str, str]:
    match = re.search(r"template (pgstack_tpl_\w+) \((built|reused)\)", output(result))
    assert match, output(result)
    return match.group(1), match.group(2)


def databases(server_url: str) -> list[str]:
    with psycopg.connect(server_url) as conn:
        return [row[0] for row in conn.execute("SELECT datname FROM pg_database").fetchall()]


def test_pgstack_sets_up_django_without_a_conftest(django_project):
    """Tests in tests/ (no conftest.py anywhere) use the worker's clone: no test_<name>
    database, no migrate per worker; the header says pytest-django's flags mean."""
    before = set(databases(django_project.server_url))
    result = django_project.run("-n", "2")
    result.assert_outcomes(passed=1)
    text = output(result)
    assert "pytest-django's --reuse-db" in text and "--create-db builds the template" in text
    created = set(databases(django_project.server_url)) - before
    assert not [name for name in created if name.startswith("test_")], created


@pytest.mark.long
def test_an_app_added_without_touching_the_configuration_rebuilds_the_template(django_project):
    first, state = template_of(django_project.run())
    assert state == "built"
    assert template_of(django_project.run()) == (first, "reused")
    django_project.add_app("shop", "Item", unique=f"shop {uuid.uuid4().hex}")
    write(
        django_project.path,
        "shop/tests/test_items.py",
        """\
        import pytest

        from shop.models import Item


        @pytest.mark.django_db
        def test_item():
            Item.objects.create(title="x")
            assert Item.objects.count() == 1
        """,
    )
    write(django_project.path, "shop/tests/__init__.py", "")
    result = django_project.run()
    result.assert_outcomes(passed=2)  # before the fix: relation "shop_item" does not exist
    second, state = template_of(result)
    assert (second != first, state) == (True, "built")


def test_create_db_builds_the_template_again(django_project):
    name, _ = template_of(django_project.run())
    result = django_project.run("--create-db")
    result.assert_outcomes(passed=1)
    assert template_of(result) == (name, "built")


def test_reuse_db_is_accepted_and_reuses(django_project):
    name, _ = template_of(django_project.run())
    result = django_project.run("--reuse-db")
    result.assert_outcomes(passed=1)
    assert template_of(result) == (name, "reused")


@pytest.mark.long
def test_no_migrations_builds_tables_from_models_in_a_template_of_its_own(django_project):
    migrated, _ = template_of(django_project.run())
    # A field only the model has: with --no-migrations the table comes from the model.
    (django_project.path / "blog/models.py").write_text(
        MODELS.format(model="Post") + "    body = models.TextField(default='')\n"
    )
    write(
        django_project.path,
        "tests/test_body.py",
        """\
        import pytest

        from blog.models import Post


        @pytest.mark.django_db
        def test_body():
            assert Post.objects.create(title="x", body="text").body == "text"
        """,
    )
    result = django_project.run("--no-migrations", "-n", "2")
    result.assert_outcomes(passed=2)
    name, _ = template_of(result)
    assert name != migrated
    assert "--no-migrations: tables from the models" in output(result)


@pytest.mark.parametrize("conftest_import", [False, True])
def test_no_pgstack_is_plain_pytest_django(django_project, pg_server, conftest_import):
    """pytest-django's own setup (test_<name> created and migrated), also with the old
    conftest import; no advice to add a table that exists."""
    if conftest_import:
        conftest = "from pgstack.django import django_db_setup  # noqa: F401\n"
        write(django_project.path, "conftest.py", conftest)
    write(
        django_project.path,
        "tests/test_blog.py",
        """\
        import pytest
        from django.db import connection

        from blog.models import Post


        @pytest.mark.django_db
        def test_post():
            Post.objects.create(title="x")
            assert connection.settings_dict["NAME"].startswith("test_plain_")
        """,
    )
    name = f"plain_{uuid.uuid4().hex[:8]}"
    env = {"DATABASE_URL": urls.with_database(pg_server.url, name)}
    result = django_project.run("--no-pgstack", env=env)
    result.assert_outcomes(passed=1)
    assert "[tool.pgstack]" not in output(result)
    assert f"test_{name}" not in databases(pg_server.url)  # pytest-django dropped it


ANALYTICS = (
    ',\n    "analytics": _alias("analytics_real"),'
    '\n    "analytics_ro": _alias("analytics_real"),'  # the same database: shares the clone
    '\n    "reports": _alias("reports_real", TEST={"MIRROR": "default"}),\n'
)

ALIAS_TEST = """\
import pytest
from django.db import connections

from blog.models import Post
from stats.models import Event


@pytest.mark.django_db(databases=["default", "analytics", "analytics_ro", "reports"])
@pytest.mark.parametrize("n", range(6))
def test_each_alias_is_isolated(n):
    Event.objects.create(title=str(n))
    Post.objects.create(title=str(n))
    assert Event.objects.count() == 1 and Post.objects.count() == 1
    names = {}
    for alias in ("default", "analytics", "analytics_ro", "reports"):
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT current_database()")
            names[alias] = cursor.fetchone()[0]
    assert names["reports"] == names["default"]  # TEST MIRROR
    assert names["analytics_ro"] == names["analytics"]  # one database: one clone
    assert names["analytics"] != names["default"]
    assert all(name.startswith("pgstack_") for name in names.values()), names
    with connections["analytics"].cursor() as cursor:
        cursor.execute("SELECT to_regclass('blog_post'), to_regclass('stats_event')")
        assert cursor.fetchone() == (None, "stats_event")
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT to_regclass('blog_post'), to_regclass('stats_event')")
        assert cursor.fetchone() == ("blog_post", None)
"""


def test_every_alias_gets_its_own_clone_under_xdist(django_project, admin):
    """A second alias with its own router and models gets a template of its own and a clone
    per worker; a MIRROR alias uses default's connection; the real databases named in
    settings are never touched (they do not even exist)."""
    django_project.aliases = ANALYTICS
    django_project.routers = ("routers.StatsRouter",)
    write(django_project.path, "routers.py", ROUTER)
    django_project.add_app("stats", "Event", unique=f"stats {uuid.uuid4().hex}")
    write(django_project.path, "tests/test_aliases.py", ALIAS_TEST)
    result = django_project.run("-n", "2")
    result.assert_outcomes(passed=6 + 1)
    match = re.search(r"analytics from (pgstack_tpl_\w+)", output(result))
    assert match, output(result)
    names = databases(django_project.server_url)
    assert "analytics_real" not in names and "reports_real" not in names
    # The CLI knows the alias's template is current (`pgstack clean` keeps it).
    listed = pgstack_cli(django_project, "list")
    assert re.search(rf"^{match.group(1)}\t.*\tcurrent$", listed.stdout, re.M), listed.stdout


def test_circular_test_dependencies_stop_with_djangos_message(django_project):
    django_project.aliases = (
        ',\n    "a": _alias("a", TEST={"DEPENDENCIES": ["b"]}),'
        '\n    "b": _alias("b", TEST={"DEPENDENCIES": ["a"]}),\n'
    )
    django_project.write_settings()
    result = django_project.run()
    text = output(result)
    assert result.ret not in (0, 5), text
    assert "Circular dependency" in text, text
    assert "INTERNALERROR" not in text and "Traceback" not in text, text


# --- which settings module: pytest-django's, in the plugin and the CLI alike -------------


def test_pgstack_prepare_builds_the_template_the_tests_use(django_project):
    """Before: `pgstack up`/`prepare` used another settings module than pytest."""
    prepared = pgstack_cli(django_project, "prepare")
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    built = re.search(r"template (pgstack_tpl_\w+) built", prepared.stdout)
    assert built, prepared.stdout
    result = django_project.run()
    result.assert_outcomes(passed=1)
    assert template_of(result) == (built.group(1), "reused")


def test_the_settings_module_is_found_where_pytest_django_looks(tmp_path):
    write(tmp_path, "pyproject.toml", PYPROJECT)
    assert load_settings(tmp_path, environ={}).django_settings == "settings"
    environ = {"DJANGO_SETTINGS_MODULE": "from_env"}
    assert load_settings(tmp_path, environ=environ).django_settings == "from_env"
    overrides = {"django_settings": "from_ds"}
    assert load_settings(tmp_path, overrides, environ).django_settings == "from_ds"
    write(tmp_path, "pytest.ini", "[pytest]\nDJANGO_SETTINGS_MODULE = from_pytest_ini\n")
    assert load_settings(tmp_path, environ={}).django_settings == "from_pytest_ini"


def test_django_settings_is_the_fallback_without_pytest_configuration(tmp_path):
    table = '[tool.pgstack]\nmigrator = "django"\ndjango_settings = "mysite.settings"\n'
    write(tmp_path, "pyproject.toml", table)
    assert load_settings(tmp_path, environ={}).django_settings == "mysite.settings"


def test_no_settings_module_anywhere_is_a_clear_error(tmp_path):
    write(tmp_path, "pyproject.toml", '[tool.pgstack]\nmigrator = "django"\n')
    with pytest.raises(ConfigError, match="django_settings"):
        migrator_for(load_settings(tmp_path, environ={}))


# --- mismatch: what a template holds against the migrations on disk ----------------------


def test_mismatch_names_the_leaf_migration_a_database_lacks(django_project, pg_server, admin):
    settings = load_settings(django_project.path, environ={"DATABASE_URL": pg_server.url})
    spec = template_spec(settings)
    template = ensure_template(pg_server.url, spec, run_id=new_run_id()).name
    clone = f"mismatch_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{clone}" TEMPLATE "{template}"')
    url = urls.with_database(pg_server.url, clone)
    try:
        assert isinstance(spec.migrator, DjangoMigrator)
        assert spec.migrator.mismatch(url) is None
        write(
            django_project.path,
            "blog/migrations/0002_more.py",
            """\
            from django.db import migrations


            class Migration(migrations.Migration):
                dependencies = [("blog", "0001_initial")]
                operations = []
            """,
        )
        later = migrator_for(settings)
        assert isinstance(later, DjangoMigrator)
        problem = later.mismatch(url)
        assert problem is not None and "blog.0002_more" in problem, problem
        (django_project.path / "blog/migrations/0002_more.py").unlink()
        (django_project.path / "blog/migrations/0001_initial.py").rename(
            django_project.path / "blog/migrations/0001_first.py"
        )
        renamed = migrator_for(settings)
        assert isinstance(renamed, DjangoMigrator)
        problem = renamed.mismatch(url)
        assert problem is not None and "blog.0001_first" in problem, problem
        assert "no longer on disk: blog.0001_initial" in problem, problem
    finally:
        admin.execute(f'DROP DATABASE "{clone}"')


def test_a_migration_that_reaches_another_alias_fails_without_touching_it(
    django_project, admin, pg_server
):
    """migrate runs with the template in its own alias only: another alias's database (a
    real one here) is out of reach, and the failure names it."""
    real = f"legacy_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{real}"')
    try:
        django_project.aliases = f',\n    "legacy": _alias({real!r}),\n'
        django_project.write_settings()
        write(
            django_project.path,
            "blog/migrations/0002_touch_legacy.py",
            """\
            from django.db import connections, migrations


            def touch(apps, schema_editor):
                with connections["legacy"].cursor() as cursor:
                    cursor.execute("CREATE TABLE touched (id int)")


            class Migration(migrations.Migration):
                dependencies = [("blog", "0001_initial")]
                operations = [migrations.RunPython(touch, migrations.RunPython.noop)]
            """,
        )
        result = django_project.run()
        text = output(result)
        assert result.ret not in (0, 5), text
        assert "legacy-not-available-while-pgstack-migrates" in text, text
        url = urls.with_database(pg_server.url, real)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT to_regclass('touched')").fetchone() == (None,)
    finally:
        admin.execute(f'DROP DATABASE "{real}" WITH (FORCE)')


def test_ds_on_the_command_line_decides_the_template(django_project):
    """pytest-django's --ds beats the ini option, for pgstack's template too."""
    default, _ = template_of(django_project.run())
    django_project.add_app("shop", "Item", unique=f"shop {uuid.uuid4().hex}")
    (django_project.path / "settings.py").rename(django_project.path / "settings_shop.py")
    django_project.apps.remove("shop")
    django_project.write_settings()  # settings.py: without the shop app
    write(
        django_project.path,
        "tests/test_items.py",
        """\
        import pytest
        from django.apps import apps


        @pytest.mark.django_db
        def test_item():
            Item = apps.get_model("shop", "Item")
            Item.objects.create(title="x")
            assert Item.objects.count() == 1
        """,
    )
    result = django_project.run("--ds", "settings_shop")
    result.assert_outcomes(passed=2)
    assert template_of(result)[0] != default


def test_two_leaf_migrations_in_one_app_stop_with_the_merge_fix(django_project):
    for name in ("0002_left", "0002_right"):
        write(
            django_project.path,
            f"blog/migrations/{name}.py",
            """\
            from django.db import migrations


            class Migration(migrations.Migration):
                dependencies = [("blog", "0001_initial")]
                operations = []
            """,
        )
    result = django_project.run()
    text = output(result)
    assert result.ret not in (0, 5), text
    assert "blog: 0002_left, 0002_right" in text and "makemigrations --merge" in text, text
    assert "Traceback" not in text and "INTERNALERROR" not in text, text
