"""The migrated-cluster cache: a cold embedded run on an unchanged schema runs no migration.

Each test has its own tmp folder (PGSTACK_TMP_DIR), so its cache starts empty and nothing
stays behind; the projects' migrations are unique per test (conftest.project).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from pgstack.accounts import unprivileged_account
from pgstack.errors import ConfigError
from pgstack.settings import load_settings

USES_SCHEMA = """
from sqlalchemy import text

def test_items(db_session):
    db_session.execute(text("INSERT INTO items (name) VALUES ('a')"))
    assert db_session.execute(text("SELECT count(*) FROM items")).scalar() == 1
"""
FROM_CACHE = "found in the migrated cluster a previous run left"
KEPT = "its cluster is kept for the next run"


@pytest.fixture
def tmp_dir(fresh_tmp_dir: Path) -> Path:
    return fresh_tmp_dir


def _entries(tmp_dir: Path) -> list[Path]:
    return sorted((tmp_dir / f"pgstack-{os.geteuid()}").glob("pgstack-migrated-*"))


def _cold_run(project, tmp_dir: Path, **env: str) -> tuple[str, str, str]:
    """(template name, built|reused, the ready line) of an embedded run."""
    project.server_url = None
    result = project.run("-n", "2", env={"PGSTACK_TMP_DIR": str(tmp_dir), **env})
    result.assert_outcomes(passed=1)
    text = "\n".join(result.outlines)
    template = re.search(r"template (pgstack_tpl_\w+) \((built|reused)\)", text)
    assert template, text
    ready = next(line for line in result.outlines if line.startswith("pgstack: ready in"))
    return template.group(1), template.group(2), ready


def _server_uid() -> int:
    account = unprivileged_account()  # as root the server runs as another account
    return account.uid if account is not None else os.geteuid()


@pytest.mark.long
def test_a_second_cold_run_starts_from_the_migrated_cluster(project, tmp_dir):
    project.write_test("test_items", USES_SCHEMA)
    name, state, ready = _cold_run(project, tmp_dir)
    assert state == "built" and KEPT in ready, ready
    [entry] = _entries(tmp_dir)
    info = os.lstat(entry)
    assert info.st_uid == _server_uid() and stat.S_IMODE(info.st_mode) & 0o077 == 0

    # A server this run started a moment ago holds the template: it came with the copy.
    again, state, ready = _cold_run(project, tmp_dir)
    assert (again, state) == (name, "reused") and FROM_CACHE in ready, ready
    assert _entries(tmp_dir) == [entry]


@pytest.mark.long
def test_a_changed_schema_builds_again_and_the_oldest_entry_goes(project, tmp_dir):
    project.write_test("test_items", USES_SCHEMA)
    first, _, _ = _cold_run(project, tmp_dir)
    [old] = _entries(tmp_dir)
    project.write_migration("0002", "0001", "ALTER TABLE items ADD COLUMN note text")
    # 1 MB holds less than one cluster: only the newest entry stays.
    second, state, ready = _cold_run(project, tmp_dir, PGSTACK_CLUSTER_CACHE_MB="1")
    assert second != first and state == "built" and KEPT in ready, ready
    [new] = _entries(tmp_dir)
    assert new != old


@pytest.mark.long
def test_cluster_cache_mb_0_keeps_no_cluster(project, tmp_dir):
    project.write_test("test_items", USES_SCHEMA)
    _, state, ready = _cold_run(project, tmp_dir, PGSTACK_CLUSTER_CACHE_MB="0")
    assert state == "built" and KEPT not in ready, ready
    assert _entries(tmp_dir) == []
    _, state, ready = _cold_run(project, tmp_dir, PGSTACK_CLUSTER_CACHE_MB="0")
    assert state == "built" and FROM_CACHE not in ready, ready


@pytest.mark.long
@pytest.mark.parametrize("spoil", ["open to others", "another owner"])
def test_a_cached_cluster_that_is_not_private_and_ours_is_not_used(project, tmp_dir, spoil):
    project.write_test("test_items", USES_SCHEMA)
    _cold_run(project, tmp_dir)
    [entry] = _entries(tmp_dir)
    if spoil == "open to others":
        entry.chmod(0o755)
    else:
        os.chown(entry, 65534, 65534)  # nobody: what another account could leave there
    _, state, ready = _cold_run(project, tmp_dir)
    assert state == "built" and FROM_CACHE not in ready, ready
    [replaced] = _entries(tmp_dir)  # the spoiled entry was replaced by a private one
    info = os.lstat(replaced)
    assert info.st_uid == _server_uid() and stat.S_IMODE(info.st_mode) & 0o077 == 0


@pytest.mark.parametrize("value", ["-1", "1.5", "lots"])
def test_cluster_cache_mb_must_be_a_whole_number(tmp_path, value):
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path, environ={"PGSTACK_CLUSTER_CACHE_MB": value})
    assert "PGSTACK_CLUSTER_CACHE_MB" in str(info.value) and "whole number" in str(info.value)
