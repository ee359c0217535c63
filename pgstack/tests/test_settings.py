"""Settings precedence: overrides > PGSTACK_* environment > [tool.pgstack] > defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pgstack.errors import ConfigError
from pgstack.hashing import Snapshot, fingerprint
from pgstack.settings import load_settings

from pgstack import environment


def _pyproject(tmp_path: Path, body: str) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.pgstack]\n" + body)
    return tmp_path


def test_defaults(tmp_path):
    settings = load_settings(_pyproject(tmp_path, ""), environ={})
    assert settings.migrator == "alembic"
    assert settings.database_url_env == "DATABASE_URL"
    assert settings.keep_failed is True
    assert settings.app_role is None


def test_precedence(tmp_path):
    root = _pyproject(tmp_path, 'app_role = "from_pyproject"\nprefix = "pp"\nredis = false\n')
    env = {"PGSTACK_APP_ROLE": "from_env", "PGSTACK_REDIS": "1"}
    settings = load_settings(root, overrides={"app_role": "from_override"}, environ=env)
    assert settings.app_role == "from_override"
    assert settings.prefix == "pp"
    assert settings.redis is True
    assert load_settings(root, environ=env).app_role == "from_env"


def test_falsy_values_override(tmp_path):
    root = _pyproject(tmp_path, "keep_failed = true\n")
    assert load_settings(root, environ={"PGSTACK_KEEP_FAILED": "0"}).keep_failed is False


def test_paths_are_relative_to_the_pyproject(tmp_path):
    (tmp_path / "db" / "init").mkdir(parents=True)
    (tmp_path / "app").mkdir()
    settings = load_settings(_pyproject(tmp_path / "app", 'init_dir = "../db/init"\n'), environ={})
    assert settings.init_dir == tmp_path.resolve() / "app/../db/init"
    assert settings.alembic_config == tmp_path.resolve() / "app/alembic.ini"
    assert settings.sql_dir is None


def test_a_snapshot_subset_hashes_the_bytes_already_read(tmp_path):
    """A derived template (a Django alias's) hashes what its parent read, not the files
    as they are later; a path the parent never read is read then."""
    for name in ("migrations", "seeds", "init"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "001.sql").write_text(f"-- {name} 1\n")
    whole = Snapshot.take([tmp_path / "migrations", tmp_path / "seeds"])
    (tmp_path / "migrations" / "001.sql").write_text("-- edited after the snapshot\n")
    part = whole.subset([tmp_path / "migrations", tmp_path / "init"])
    assert part.read(tmp_path / "migrations" / "001.sql") == b"-- migrations 1\n"
    assert part.read(tmp_path / "init" / "001.sql") == b"-- init 1\n"
    assert part.read(tmp_path / "seeds" / "001.sql") is None
    (tmp_path / "migrations" / "001.sql").write_text("-- migrations 1\n")
    fresh = Snapshot.take([tmp_path / "init", tmp_path / "migrations"])
    assert fingerprint(part, base=tmp_path) == fingerprint(fresh, base=tmp_path)


def test_fingerprint_follows_content_not_location(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name / "versions").mkdir(parents=True)
        (tmp_path / name / "versions" / "0001.py").write_text("x = 1\n")
    assert fingerprint([tmp_path / "a"], base=tmp_path / "a") == fingerprint(
        [tmp_path / "b"], base=tmp_path / "b"
    )
    before = fingerprint([tmp_path / "a"], base=tmp_path / "a")
    (tmp_path / "a" / "versions" / "0001.py").write_text("x = 2\n")
    assert fingerprint([tmp_path / "a"], base=tmp_path / "a") != before
    (tmp_path / "a" / "versions" / "__pycache__").mkdir()
    (tmp_path / "a" / "versions" / "__pycache__" / "0001.pyc").write_bytes(b"junk")
    changed = fingerprint([tmp_path / "a"], base=tmp_path / "a")
    assert changed == fingerprint([tmp_path / "a"], base=tmp_path / "a")


def test_env_mapping_from_pyproject_and_environment(tmp_path):
    root = _pyproject(tmp_path, '[tool.pgstack.env]\nPOSTGRES_DB = "database"\n')
    assert load_settings(root, environ={}).env == {"POSTGRES_DB": "database"}
    env = {"PGSTACK_ENV": "POSTGRES_SERVER=host, POSTGRES_PORT=port"}
    assert load_settings(root, environ=env).env == {
        "POSTGRES_SERVER": "host",
        "POSTGRES_PORT": "port",
    }


def test_env_mapping_values(tmp_path):
    mapping = {
        "HOST": "host",
        "PORT": "port",
        "USER": "user",
        "PASSWORD": "password",
        "DB": "dbname",
        "ASYNC": "postgresql+asyncpg://{user}:{password_quoted}@{host}:{port}/{database}",
        "SA": "sqlalchemy_url",
        "CACHE": "redis_url",
    }
    values = environment.mapped(mapping, "postgresql://alice:s%40cret@db.test:6543/w1", None)
    assert values == {
        "HOST": "db.test",
        "PORT": "6543",
        "USER": "alice",
        "PASSWORD": "s@cret",
        "DB": "w1",
        "ASYNC": "postgresql+asyncpg://alice:s%40cret@db.test:6543/w1",
        "SA": "postgresql+psycopg://alice:s%40cret@db.test:6543/w1",
        "CACHE": "",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('migrator = "flyway"\n', "Unknown migrator 'flyway'"),
        ('migrator = "sql"\n', 'migrator = "sql" needs sql_dir'),
        ('migrator = "command"\n', 'migrator = "command" needs command'),
        ('env = "POSTGRES_DB=database"\n', "must be a table"),
        ('[tool.pgstack.env]\nDATABASE_URL = "url"\n', "remove it from [tool.pgstack.env]"),
        ('[tool.pgstack.env]\nX = "{hots}"\n', "X = '{hots}' names no known field"),
    ],
)
def test_contradictions_are_config_errors(tmp_path, body, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(_pyproject(tmp_path, body), environ={})
