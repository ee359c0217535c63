"""What `pgstack init --compose` answers the compose template's questions with.

Read only, like ``pgstack.project_scan``: the project's dependency files, its
``[tool.pgstack]`` table (or what init would propose), ``.python-version``. Answers a
previous render recorded (the answers file) win over what is found, so a second run renders
the same files; ``--data`` wins over both. Every answer keeps the reason shown to the user.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pgstack.errors import PgstackError
from pgstack.project_scan import Finding, alembic_migrations_folder, scan
from pgstack.settings import read_pyproject_table

ANSWERS_FILE = ".pgstack-answers.yml"
# Answers copier records about the template itself rather than the project.
TEMPLATE_KEYS = ("_src_path", "_commit")
_NAME = re.compile(r"[^a-z0-9_-]+")
_REQUIREMENT_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?")


class ComposeInitError(PgstackError):
    """The compose template cannot be rendered for this project as asked."""


@dataclass
class Answers:
    """The template's answers, with the finding behind each."""

    values: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def set(self, key: str, value: Any, why: str) -> None:
        """Answer ``key``; a later answer replaces an earlier one, in its place."""
        self.values[key] = value
        finding = Finding(key, f"{_show(value)}: {why}")
        topics = [f.topic for f in self.findings]
        if key in topics:
            self.findings[topics.index(key)] = finding
        else:
            self.findings.append(finding)


def project_below(dest: Path) -> Path:
    """The Python project whose stack goes into ``dest``: ``dest`` itself when it has a
    pyproject.toml, else its one subfolder that has one (a repository with ``backend/``)."""
    dest = dest.resolve()
    if (dest / "pyproject.toml").is_file():
        return dest
    found = sorted(p.parent for p in dest.glob("*/pyproject.toml") if p.is_file())
    if len(found) == 1:
        return found[0]
    names = ", ".join(p.name for p in found) or "none"
    raise ComposeInitError(
        f"Which Python project does the test stack in {dest} run? {dest} has no "
        f"pyproject.toml, and its subfolders with one are: {names}. Name it with --project "
        "(e.g. pgstack --project backend init --compose)."
    )


def detect(project: Path, dest: Path, data: dict[str, str], recorded: dict[str, Any]) -> Answers:
    """Answer the template's questions for the Python project ``project``, whose test stack
    is written into ``dest`` (``project`` itself or a folder above it); ``recorded``: the
    answers of a previous render (``recorded_answers``)."""
    project, dest = project.resolve(), dest.resolve()
    if not project.is_relative_to(dest):
        raise ComposeInitError(
            f"The project {project} is not inside {dest}, where the compose files would go. "
            "Run the command from the project's folder or one above it (--project names the "
            "folder of its pyproject.toml)."
        )
    answers = Answers()
    _detect_found(project, dest, answers)
    for key, value in recorded.items():
        if not key.startswith("_") and answers.values.get(key) != value:
            answers.set(key, value, f"as recorded in {ANSWERS_FILE}")
    for key, text in data.items():
        answers.set(key, yaml.safe_load(text) if text else "", "given with --data")
    return answers


def _detect_found(project: Path, dest: Path, answers: Answers) -> None:
    name = _NAME.sub("-", dest.name.lower()).strip("-_") or "app"
    answers.set("project_name", name, f"from the folder name {dest.name!r}")
    backend = project.relative_to(dest).as_posix()
    answers.set("backend_dir", backend, "the folder of the project's pyproject.toml")
    _install(project, dest, answers)
    table = read_pyproject_table(project / "pyproject.toml")
    where = "[tool.pgstack]"
    if table is None:
        table, where = scan(project).table, "what `pgstack init` finds"
    migrator = table.get("migrator", "alembic")
    answers.set("migrator", migrator, f"{where}")
    folder = _inside(dest, project, _migrations_folder(project, migrator, table))
    answers.set(
        "migrations_dir",
        folder,
        "mounted read-only into the runner" if folder else "no migrations folder to mount",
    )
    conf = _inside(dest, project, str(table.get("postgres_conf", "")))
    answers.set(
        "postgres_conf",
        conf,
        f"{where} postgres_conf, mounted into the db" if conf else "the template's settings",
    )
    answers.set("redis", bool(table.get("redis", True)), where)
    answers.set("python_version", *_python_version(project, dest))
    if (dest / "Makefile").exists():
        answers.set("makefile", "include", "a Makefile exists: pgstack.mk, for it to include")
    else:
        answers.set("makefile", "own", "no Makefile yet: one that includes pgstack.mk")


def _install(project: Path, dest: Path, answers: Answers) -> None:
    requirements = sorted(p.name for p in project.glob("requirements*.txt") if p.is_file())
    lock = next((project / n for n in ("uv.lock", "poetry.lock") if (project / n).is_file()), None)
    if lock is not None:
        answers.set("install", "uv" if lock.name == "uv.lock" else "poetry", lock.name)
    elif requirements:
        answers.set("install", "requirements", ", ".join(requirements))
        found = [(project / name).relative_to(dest).as_posix() for name in requirements]
        answers.set("requirements_files", found, "every requirements*.txt found")
    else:
        answers.set("install", "pip", "no lock or requirements file: the project's pyproject.toml")
    declared = _declared(project, requirements, lock)
    packages: list[str] = []
    if not any(_requirement(item)[0] == "pgstack" for item in declared):
        packages.append("pgstack[xdist]")
    if not any(_has_libpq(item) for item in declared):
        packages.append("psycopg[binary]")  # psycopg alone needs libpq, which slim images lack
    why = "what the dependencies lack: pgstack, and psycopg with its own libpq"
    answers.set("runner_packages", packages, why if packages else "the dependencies list both")


def _declared(project: Path, requirements: list[str], lock: Path | None) -> list[str]:
    """Requirement lines of the project's dependency files (a lock: its package names)."""
    items = []
    for name in requirements:
        text = (project / name).read_text("utf-8", "replace")
        items += [line.split("#", 1)[0].strip() for line in text.splitlines()]
    if lock is not None:
        items += re.findall(r'^name = "([^"]+)"$', lock.read_text("utf-8", "replace"), re.M)
    try:
        pyproject = tomllib.loads((project / "pyproject.toml").read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        pyproject = {}
    table = pyproject.get("project", {})
    groups = [table.get("dependencies", []), *table.get("optional-dependencies", {}).values()]
    groups += list(pyproject.get("dependency-groups", {}).values())
    items += [i for g in groups if isinstance(g, list) for i in g if isinstance(i, str)]
    return [item for item in items if _REQUIREMENT_NAME.match(item)]


def _requirement(line: str) -> tuple[str, set[str]]:
    """The normalised project name of a requirement line, and its extras."""
    match = _REQUIREMENT_NAME.match(line)
    if match is None:
        return "", set()
    extras = {e.strip() for e in (match.group(2) or "[]")[1:-1].split(",")}
    return re.sub(r"[-_.]+", "-", match.group(1)).lower(), extras


def _has_libpq(line: str) -> bool:
    """Whether this requirement brings psycopg a libpq of its own (binary or C build)."""
    name, extras = _requirement(line)
    if name in ("psycopg-binary", "psycopg-c"):
        return True
    return name == "psycopg" and bool(extras & {"binary", "c"})


def _migrations_folder(project: Path, migrator: str, table: dict[str, Any]) -> str:
    """The migrations folder, as the table names it (relative to ``project``)."""
    if migrator == "sql" and table.get("sql_dir"):
        return str(table["sql_dir"])
    if migrator == "alembic":
        folder = alembic_migrations_folder(project / table.get("alembic_config", "alembic.ini"))
        if folder is not None:
            return str(folder)
    return ""


def _inside(dest: Path, project: Path, path: str) -> str:
    """``path`` (relative to ``project``, or absolute) relative to ``dest``, where the compose
    files go; empty when none is given or it lies outside ``dest`` (Compose mounts only from
    there)."""
    if not path:
        return ""
    resolved = (project / path).resolve()
    if not resolved.is_relative_to(dest):
        return ""
    return resolved.relative_to(dest).as_posix()


def _python_version(project: Path, dest: Path) -> tuple[str, str]:
    for folder in (project, dest):
        pinned = folder / ".python-version"
        if pinned.is_file():
            match = re.match(r"\s*(\d+\.\d+)", pinned.read_text("utf-8", "replace"))
            if match:
                return match.group(1), f"{pinned.relative_to(dest)}"
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return version, "the Python running this command (no .python-version)"


def parse_data(items: tuple[str, ...]) -> dict[str, str]:
    """``--data KEY=VALUE`` options as a mapping."""
    given: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ComposeInitError(
                f"--data {item!r}: write it as KEY=VALUE, e.g. --data postgres_version=15."
            )
        given[key] = value
    return given


def template_source(
    recorded: dict[str, Any], given: str | None, vcs_ref: str | None, builtin: str
) -> tuple[str, str | None]:
    """The template to render, and at which git ref: the one given, else the git template
    and commit a previous render recorded, else ``builtin`` (a render of the wheel's copy
    records no commit)."""
    if given is not None:
        return given, vcs_ref
    source, commit = recorded.get("_src_path"), recorded.get("_commit")
    if isinstance(source, str) and isinstance(commit, str) and source and commit:
        return source, vcs_ref or commit
    return builtin, vcs_ref


def recorded_answers(dest: Path) -> dict[str, Any]:
    """The answers a previous render recorded in ``dest`` (none: empty)."""
    path = dest / ANSWERS_FILE
    if not path.is_file():
        return {}
    try:
        loaded = yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as exc:
        raise ComposeInitError(
            f"{path} is not valid YAML ({exc}). Fix it, or delete it to answer afresh."
        ) from exc
    return loaded if isinstance(loaded, dict) else {}


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)
