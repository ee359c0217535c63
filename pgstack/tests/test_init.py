"""`pgstack init`: what it finds in a project, the table it writes, and --check."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pgstack.project_scan import scan
from pgstack.settings import load_settings, read_pyproject_table

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def init(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pgstack.cli", "init", *args],
        capture_output=True,
        text=True,
        cwd=folder,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("example", ["sql", "fastapi-sqlmodel", "django"])
def test_committed_table_is_what_init_writes(example):
    result = init(EXAMPLES / example, "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matches" in result.stdout, result.stdout


def test_django_example_is_detected_with_pytest_djangos_settings():
    proposal = scan(EXAMPLES / "django")
    assert proposal.table["migrator"] == "django"
    assert "django_settings" not in proposal.table  # pytest-django finds it: ini option
    assert "the way pytest-django finds it" in " ".join(f.text for f in proposal.findings)


def test_django_settings_written_when_pytest_django_would_not_find_them(tmp_path):
    (tmp_path / "manage.py").write_text(
        'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_conf.settings.dev")\n'
    )
    assert scan(tmp_path).table["django_settings"] == "site_conf.settings.dev"
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --ds=site_conf.settings.test\n")
    assert "django_settings" not in scan(tmp_path).table
    (tmp_path / "manage.py").unlink()  # a settings module named for pytest-django is enough
    assert scan(tmp_path).table["migrator"] == "django"


PYPROJECT = """\
[project]
name = "shop"  # the shop

# Lint settings, kept as they are.
[tool.ruff]
line-length = 100
"""

CONFIG = """\
import os

from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    DB_HOST: str = "localhost"
    DB_NAME: str = "shop"
    SECRET: str = "x"


password = os.environ.get("DB_PASSWORD", "")
port = int(os.getenv("DB_PORT", "5432"))
cache = os.environ["CELERY_BROKER_URL"]
"""


def test_init_writes_the_table_keeps_the_file_and_never_overwrites(tmp_path):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "config.py").write_text(CONFIG)
    (tmp_path / "shop" / "cache.py").write_text("import redis\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/mig\n")
    (tmp_path / "sub" / "mig").mkdir()

    written = init(tmp_path / "shop")  # from a subfolder: the nearest pyproject.toml
    assert written.returncode == 0, written.stdout + written.stderr
    assert "script_location = %(here)s/mig" in written.stdout, written.stdout
    assert "shop/config.py reads CELERY_BROKER_URL, DB_HOST, DB_NAME, DB_PASSWORD, DB_PORT" in (
        written.stdout
    )
    assert "shop/cache.py imports redis: Redis is used" in written.stdout, written.stdout
    text = (tmp_path / "pyproject.toml").read_text()
    assert text.startswith(PYPROJECT), text  # every line, comment and blank kept
    assert read_pyproject_table(tmp_path / "pyproject.toml") == {
        "alembic_config": "sub/alembic.ini",
        "env": {
            "DB_HOST": "host",
            "DB_PORT": "port",
            "DB_PASSWORD": "password",
            "DB_NAME": "database",
            "CELERY_BROKER_URL": "redis_url",
        },
    }
    settings = load_settings(tmp_path, environ={})
    assert settings.alembic_config == tmp_path / "sub" / "alembic.ini"
    assert init(tmp_path, "--check").returncode == 0

    again = init(tmp_path)
    assert again.returncode != 0 and "never overwrites" in again.stderr, again.stderr
    assert "Traceback" not in again.stderr
    assert (tmp_path / "pyproject.toml").read_text() == text

    (tmp_path / "shop" / "cache.py").unlink()
    checked = init(tmp_path, "--check")
    assert checked.returncode == 1, checked.stdout
    assert "redis: committed (not set), init finds False" in checked.stdout, checked.stdout
    assert (tmp_path / "pyproject.toml").read_text() == text  # --check writes nothing
    # CELERY_BROKER_URL is only mapped when Redis is used.
    assert "env.CELERY_BROKER_URL: committed 'redis_url', init finds (not set)" in checked.stdout

    forced = init(tmp_path, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "replaced" in forced.stdout
    assert read_pyproject_table(tmp_path / "pyproject.toml")["redis"] is False
    assert init(tmp_path, "--check").returncode == 0


def test_init_without_pyproject_creates_one_for_sql_files(tmp_path):
    folder = tmp_path / "schema"
    folder.mkdir()
    for name in ("001_init.sql", "002_more.sql"):
        (folder / name).write_text("SELECT 1;\n")
    result = init(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "created" in result.stdout
    assert read_pyproject_table(tmp_path / "pyproject.toml") == {
        "migrator": "sql",
        "sql_dir": "schema",
        "redis": False,
    }


def test_nothing_to_migrate_is_migrator_none(tmp_path):
    proposal = scan(tmp_path)
    assert proposal.table == {"migrator": "none", "redis": False}
    assert textwrap.shorten(proposal.findings[0].text, 30).startswith("no manage.py")
