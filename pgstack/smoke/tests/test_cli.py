"""The console script and the sqlalchemy-extra error, run as a user runs them: new processes
whose environment carries none of this run's coordinates."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def _clean_env() -> dict[str, str]:
    """Without this run's DATABASE_URL and worker variables the child starts its own servers
    (in the same tmp folder, which the check removes at the end)."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "PYTEST_ADDOPTS"}
        and (name == "PGSTACK_TMP_DIR" or not name.startswith(("PGSTACK_", "PYTEST_XDIST_")))
    }


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        check=False,  # the tests assert the exit code
        cwd=PROJECT,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _pgstack() -> str:
    path = shutil.which("pgstack", path=str(Path(sys.executable).parent))
    assert path is not None, "the wheel installed no pgstack console script"
    return path


def test_help() -> None:
    result = _run(_pgstack(), "--help")
    assert result.returncode == 0, result.stderr
    assert "doctor" in result.stdout


def test_doctor_passes() -> None:
    result = _run(_pgstack(), "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout


def test_db_session_without_sqlalchemy_is_a_clear_failure() -> None:
    """The SQLAlchemy suite, run here without SQLAlchemy: every test fails with the fix,
    not an ImportError traceback."""
    result = _run(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests_sqlalchemy")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert 'pip install "pgstack[sqlalchemy]"' in output
    assert "SQLAlchemy is not installed" in output
    assert "fresh_database.engine() cannot work without it" in output
    assert "1 failed, 2 errors" in output  # db_session at setup, engine() in the test
    for noise in ("Traceback", "No module named", "During handling", "direct cause"):
        assert noise not in output, output
