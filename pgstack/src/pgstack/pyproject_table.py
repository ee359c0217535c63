"""`pgstack init`'s edit of pyproject.toml: add (or, when forced, replace) the
``[tool.pgstack]`` table and leave every other line, comment and blank as it was
(tomlkit), or compare the committed table with a proposed one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pgstack.errors import ConfigError
from pgstack.settings import read_pyproject_table

HEADER = "written by `pgstack init` (see pgstack's README, Configuration)"


def write_table(pyproject: Path, table: dict[str, Any], *, force: bool) -> str:
    """Write ``table`` as [tool.pgstack]; return what was done ("created", "added",
    "replaced"). An existing table is only replaced with ``force``."""
    import tomlkit

    existing = read_pyproject_table(pyproject)  # also refuses a file that is not TOML
    if existing is not None and not force:
        raise ConfigError(
            f"{pyproject} already has a [tool.pgstack] table; pgstack init never overwrites "
            "one. `pgstack init --check` compares it with what init finds; "
            "`pgstack init --force` replaces it."
        )
    created = not pyproject.is_file()
    document = tomlkit.document() if created else tomlkit.parse(pyproject.read_text("utf-8"))
    if "tool" not in document:
        document["tool"] = tomlkit.table(is_super_table=True)
    new = tomlkit.table()
    new.add(tomlkit.comment(HEADER))
    for key, value in table.items():
        if isinstance(value, dict):
            sub = tomlkit.table()
            for name, spec in value.items():
                sub[name] = spec
            new[key] = sub
        else:
            new[key] = value
    document["tool"]["pgstack"] = new
    pyproject.write_text(tomlkit.dumps(document), encoding="utf-8")
    return "created" if created else ("replaced" if existing is not None else "added")


def differences(committed: dict[str, Any] | None, proposed: dict[str, Any]) -> list[str]:
    """How the committed table differs from the proposed one, one line per setting."""
    if committed is None:
        return ["there is no [tool.pgstack] table"]
    committed = {key.replace("-", "_"): value for key, value in committed.items()}
    lines = []
    for key in sorted(committed.keys() | proposed.keys()):
        have, want = committed.get(key), proposed.get(key)
        if have == want:
            continue
        if key == "env" and isinstance(have, dict) and isinstance(want, dict):
            for name in sorted(have.keys() | want.keys()):
                if have.get(name) != want.get(name):
                    lines.append(
                        f"env.{name}: committed {_show(have.get(name))}, "
                        f"init finds {_show(want.get(name))}"
                    )
            continue
        lines.append(f"{key}: committed {_show(have)}, init finds {_show(want)}")
    return lines


def _show(value: Any) -> str:
    return "(not set)" if value is None else repr(value)
