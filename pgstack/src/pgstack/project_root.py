"""Which project a ``pgstack`` command works on, found the way pytest finds its rootdir.

From the current folder up to the filesystem root, the nearest ``pyproject.toml`` with a
``[tool.pgstack]`` table. ``--project`` names the folder instead.
"""

from __future__ import annotations

from pathlib import Path

from pgstack.errors import ConfigError
from pgstack.settings import read_pyproject_table


def find_project(start: Path) -> Path:
    """The nearest folder at or above ``start`` whose pyproject.toml has [tool.pgstack]."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if read_pyproject_table(folder / "pyproject.toml") is not None:
            return folder
    raise ConfigError(
        f"No pyproject.toml with a [tool.pgstack] table in {start} or any folder above it, "
        "so pgstack does not know which project to work on. Run it inside the project, "
        "point at the project's folder with `pgstack --project PATH …`, or write the "
        "table with `pgstack init` in the project's folder."
    )


def nearest_pyproject_folder(start: Path) -> Path:
    """Where `pgstack init` writes: the nearest folder at or above ``start`` with a
    pyproject.toml (with or without the table), else ``start`` itself."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    return start
