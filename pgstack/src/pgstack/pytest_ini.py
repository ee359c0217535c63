"""An option of pytest's ini configuration, read from the files the way pytest finds them.

The CLI has no pytest config object, but must agree with a test run on what the project
configured there (pytest-django's ``DJANGO_SETTINGS_MODULE``): the first of pytest.ini,
.pytest.ini, pyproject.toml, tox.ini and setup.cfg in the project folder that holds pytest
configuration is the one pytest reads.
"""

from __future__ import annotations

import configparser
import tomllib
from pathlib import Path

from pgstack.errors import ConfigError

# (file, ini section); pyproject.toml is TOML (pytest 9 also reads a native [tool.pytest]).
_INI_FILES = (("pytest.ini", "pytest"), (".pytest.ini", "pytest"))
_LATER_INI_FILES = (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest"))


def option(project_dir: Path, name: str) -> str | None:
    """The value of ini option ``name`` in the pytest configuration of ``project_dir``."""
    for filename, section in _INI_FILES:
        path = project_dir / filename
        if path.is_file():
            return _from_ini(path, section, name, required=False)
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file():
        try:
            tool = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{pyproject} is not valid TOML: {exc}") from exc
        pytest_table = tool.get("pytest") if isinstance(tool, dict) else None
        if isinstance(pytest_table, dict):
            ini_options = pytest_table.get("ini_options")
            table = ini_options if isinstance(ini_options, dict) else pytest_table
            value = table.get(name)
            return str(value).strip() or None if value is not None else None
    for filename, section in _LATER_INI_FILES:
        path = project_dir / filename
        if path.is_file():
            value = _from_ini(path, section, name, required=True)
            if value is not _ABSENT:
                return value
    return None


_ABSENT = "\0absent"


def _from_ini(path: Path, section: str, name: str, *, required: bool) -> str | None:
    """The option in ``section``; with ``required``, ``_ABSENT`` when the section is not
    there (the file then holds no pytest configuration and pytest looks further)."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as exc:
        raise ConfigError(f"{path} cannot be read as an ini file: {exc}") from exc
    if not parser.has_section(section):
        return _ABSENT if required else None
    value = parser.get(section, name, fallback="").strip()
    return value or None
