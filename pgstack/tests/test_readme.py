"""The README is tested like code: its snippets run, its quoted failures are real, its links
resolve, and every public name has a section.

Fenced blocks of pgstack/README.md carry what they are after the language:
``project=NAME file=PATH`` (a file of a small project; blocks naming one file are joined in
order), ``project=NAME run`` (shell lines run in that project, in order), ``install`` (pip
lines, checked against pyproject.toml) and ``text output=NAME`` (a quote of real output,
``…`` where runs differ), reproduced by a scenario below.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest
from conftest import durable_postgres
from pgstack.setting_kinds import KINDS

import pgstack
from pgstack import cli, django, errors
from pgstack import pytest_plugin as plugin

PGSTACK_DIR = Path(__file__).resolve().parents[1]
REPO = PGSTACK_DIR.parent
README = PGSTACK_DIR / "README.md"
ROOT_README = REPO / "README.md"
RUN_LANGS = {"python", "toml", "sh", "sql"}  # what a user copies: each must be run
BIN = Path(sys.executable).parent

_FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)


@dataclass
class Block:
    lang: str
    attrs: dict[str, str]
    flags: set[str]
    text: str
    line: int

    def where(self) -> str:
        return f"README.md line {self.line}"


def blocks(path: Path = README) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        words = match.group(2).split()
        attrs = dict(word.split("=", 1) for word in words if "=" in word)
        flags = {word for word in words if "=" not in word}
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(match.group(1), attrs, flags, match.group(3), line))
    return found


def project_files(name: str) -> dict[str, str]:
    """The files the README's blocks give project ``name``, joined per file in order."""
    files: dict[str, list[str]] = {}
    for block in blocks():
        if block.attrs.get("project") == name and "file" in block.attrs:
            files.setdefault(block.attrs["file"], []).append(block.text)
    return {path: "\n\n".join(parts) for path, parts in files.items()}


def run_blocks(name: str) -> list[Block]:
    return [b for b in blocks() if b.attrs.get("project") == name and "run" in b.flags]


def write_project(root: Path, name: str, extra: dict[str, str] | None = None) -> Path:
    for path, text in {**project_files(name), **(extra or {})}.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def count_tests(root: Path) -> int:
    """How many tests the project's files define: the run must pass them all."""
    return sum(
        len(re.findall(r"^(?:async )?def test_", path.read_text(), re.M))
        for path in root.rglob("test_*.py")
    )


def shell(root: Path, script: str, env: dict[str, str] | None = None, timeout: float = 120):
    """Run snippet lines as a user's shell would, with this environment's tools on PATH."""
    full_env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "COLUMNS": "80",
        **(env or {}),
    }
    return subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=root,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def pytest_in(
    root: Path,
    *args: str,
    env: dict[str, str] | None = None,
    plugins: tuple[str, ...] = ("pgstack.pytest_plugin",),
):
    """An inner run that loads only the plugins it needs: on a busy 2-core machine every
    autoloaded plugin costs each run a second or more."""
    loads = [word for plugin in plugins for word in ("-p", plugin)]
    command = " ".join(["pytest", *loads, "-p", "no:cacheprovider", *args])
    return shell(root, command, {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", **(env or {})})


def text_of(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def passed(result: subprocess.CompletedProcess[str]) -> int:
    match = re.search(r"(\d+) passed", result.stdout)
    return int(match.group(1)) if match else 0


def lint(root: Path) -> None:
    """Snippets a user copies must at least be valid, import what they use and use what
    they import (ruff's default rules, not this repository's)."""
    result = subprocess.run(
        [str(BIN / "ruff"), "check", "--isolated", "--no-cache", "."],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def assert_quoted(quote: str, output: str, where: str) -> None:
    """Each part of ``quote`` between ``…`` appears in ``output``, in order (whitespace
    runs count as one space)."""
    flat = " ".join(output.split())
    position = 0
    for part in (" ".join(piece.split()) for piece in quote.split("…")):
        if not part:
            continue
        found = flat.find(part, position)
        assert found >= 0, f"{where}: {part!r} is not in the real output:\n{output}"
        position = found + len(part)


def quote(name: str) -> Block:
    (block,) = [b for b in blocks() if b.attrs.get("output") == name]
    return block


# --- the README's projects ------------------------------------------------------------


def test_every_snippet_is_run_or_checked():
    """No copyable block escapes the tests below; no quote lacks its scenario."""
    known_projects = {"quickstart", "roles", "django"}
    for block in blocks():
        if block.lang in RUN_LANGS:
            if "install" in block.flags:
                continue
            assert block.attrs.get("project") in known_projects, block.where()
            assert "file" in block.attrs or "run" in block.flags, block.where()
        elif block.lang == "text":
            assert block.attrs.get("output") in SCENARIO_OUTPUTS, block.where()
        else:
            assert block.lang == "mermaid", f"{block.where()}: untested ```{block.lang}"
    quoted = {b.attrs["output"] for b in blocks() if "output" in b.attrs}
    assert quoted == set(SCENARIO_OUTPUTS), "a scenario without its quote, or the reverse"


def test_quickstart_runs_on_embedded_servers(tmp_path, fresh_tmp_dir):
    """The quickstart and every fixture snippet, as one project, run as the README says,
    with no DATABASE_URL: the servers are pgstack's own. A first run: no migrated cluster
    of an earlier one (the header says "built")."""
    root = write_project(tmp_path, "quickstart")
    lint(root)
    run, _ = run_blocks("quickstart")
    assert run.text.strip() == "pytest -n 2", run.where()
    result = shell(root, run.text, {"PGSTACK_TMP_DIR": str(fresh_tmp_dir)})
    assert result.returncode == 0, text_of(result)
    assert passed(result) == count_tests(root) >= 12, text_of(result)
    assert_quoted(quote("quickstart-header").text, result.stdout, "quickstart-header")


def test_cli_session_works_line_by_line(tmp_path):
    """The README's CLI session in the quickstart project (`set -e`: every line must
    succeed), from `pgstack up` to `pgstack down`."""
    root = write_project(tmp_path, "quickstart")
    _, cli = run_blocks("quickstart")
    try:
        session = shell(root, cli.text)
    finally:
        shell(root, "pgstack down")  # the servers `pgstack up` left running, if it failed
    assert session.returncode == 0, text_of(session)
    out = session.stdout
    assert "pgstack: started: PostgreSQL" in out, out
    assert "is a scratch clone of pgstack_tpl_" in session.stderr, text_of(session)
    assert " count \n-------\n     0" in out, out
    assert "pgstack: stopped PostgreSQL" in out, out


def test_roles_project_runs_as_the_app_role(tmp_path, pg_server):
    root = write_project(tmp_path, "roles")
    lint(root)
    result = pytest_in(root, env={"DATABASE_URL": pg_server.url})
    assert result.returncode == 0, text_of(result)
    assert passed(result) == count_tests(root) == 2, text_of(result)


MANAGE_PY = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""


def test_django_project_uses_the_workers_clone(tmp_path, pg_server):
    """The Django snippets, next to the manage.py every Django project has."""
    root = write_project(tmp_path, "django", {"manage.py": MANAGE_PY})
    lint(root)
    plugins = ("pgstack.pytest_plugin", "pytest_django.plugin")
    result = pytest_in(root, env={"DATABASE_URL": pg_server.url}, plugins=plugins)
    assert result.returncode == 0, text_of(result)
    assert passed(result) == count_tests(root) == 1, text_of(result)


# --- the quoted failures --------------------------------------------------------------


_CORE = ("pyproject.toml", "db/migrations/001_items.sql", "tests/test_items.py")


def _quickstart_with(root: Path, files: dict[str, str] | None = None) -> Path:
    """The quickstart's own three files (no app: a faster start), some replaced or added."""
    core = {path: text for path, text in project_files("quickstart").items() if path in _CORE}
    for path, text in {**core, **(files or {})}.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pgstack_off(root: Path, pg_server) -> str:
    _quickstart_with(root, {"pyproject.toml": "[tool.pytest.ini_options]\n"})
    return text_of(pytest_in(root, "tests/test_items.py"))


def _unknown_setting(root: Path, pg_server) -> str:
    text = project_files("quickstart")["pyproject.toml"].replace("sql_dir =", "sql_dirs =")
    _quickstart_with(root, {"pyproject.toml": text})
    return text_of(pytest_in(root, "tests/test_items.py"))


def _not_a_test_server(root: Path, pg_server) -> str:
    _quickstart_with(root)
    with durable_postgres() as server:
        return text_of(pytest_in(root, "tests/test_items.py", env={"DATABASE_URL": server.url}))


def _missing_database(root: Path, pg_server) -> str:
    _quickstart_with(root)
    url = pg_server.url.rsplit("/", 1)[0] + "/app_test"
    return text_of(pytest_in(root, "tests/test_items.py", env={"DATABASE_URL": url}))


def _unreachable(root: Path, pg_server) -> str:
    _quickstart_with(root)
    env = {
        "DATABASE_URL": f"postgresql://postgres:x@127.0.0.1:{_free_port()}/app_test",
        "PGSTACK_READY_TIMEOUT": "1",
    }
    return text_of(pytest_in(root, "tests/test_items.py", env=env))


def _migration_error(root: Path, pg_server) -> str:
    broken = "-- adds a column\nALTER TABLE items\n  ADD COLUMN note txet;\n"
    _quickstart_with(root, {"db/migrations/002_note.sql": broken})
    env = {"DATABASE_URL": pg_server.url}
    return text_of(pytest_in(root, "tests/test_items.py", env=env))


FAILING_TESTS = """\
import psycopg


def test_commit(db_connection):
    db_connection.execute("INSERT INTO items (name) VALUES ('x')")
    db_connection.commit()


def test_fails_with_its_own_database(fresh_database):
    with psycopg.connect(fresh_database.url) as conn:
        conn.execute("INSERT INTO items (name) VALUES ('committed')")
    assert False, "inspect me"
"""


def _failing_tests(root: Path, pg_server) -> str:
    """On the embedded server, as the quote says (a shared server's note differs)."""
    _quickstart_with(root, {"tests/test_failing.py": FAILING_TESTS})
    return text_of(pytest_in(root, "tests/test_failing.py"))


@dataclass
class Scenario:
    make: Callable[[Path, object], str]
    outputs: list[str]
    refused: bool = field(default=True)  # stopped before any test ran


SCENARIOS = {
    "pgstack-off": Scenario(_pgstack_off, ["pgstack-off"], refused=False),
    "unknown-setting": Scenario(_unknown_setting, ["unknown-setting"]),
    "not-a-test-server": Scenario(_not_a_test_server, ["not-a-test-server"]),
    "missing-database": Scenario(_missing_database, ["missing-database"]),
    "unreachable": Scenario(_unreachable, ["unreachable"]),
    "migration-error": Scenario(_migration_error, ["migration-error"]),
    "failing-tests": Scenario(
        _failing_tests, ["connection-commit", "kept-database"], refused=False
    ),
}
SCENARIO_OUTPUTS = {
    "quickstart-header": "test_quickstart_runs_on_embedded_servers",
    **{name: key for key, scenario in SCENARIOS.items() for name in scenario.outputs},
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_quoted_failure_is_what_pgstack_prints(name, tmp_path, pg_server):
    scenario = SCENARIOS[name]
    output = scenario.make(tmp_path, pg_server)
    for output_name in scenario.outputs:
        assert_quoted(quote(output_name).text, output, output_name)
    if scenario.refused:
        assert "ERROR: pgstack:" in output and " passed" not in output, output


# --- the rest of the README -----------------------------------------------------------


def test_install_lines_name_real_extras_and_folders():
    """The README's pip lines cannot run here (they would reach the network); what they
    name must exist: each extra in pyproject.toml, each folder a package."""
    meta = tomllib.loads((PGSTACK_DIR / "pyproject.toml").read_text())["project"]
    extras = set(meta["optional-dependencies"])
    (block,) = [b for b in blocks() if "install" in b.flags]
    named = set()
    for group in re.findall(r"\[([\w,]+)\]", block.text):
        named |= set(group.split(","))
    readme_table = set(re.findall(r"^\| `(\w+)` \| ", _section(README, "Install"), re.M))
    assert named <= readme_table, "an extra in the pip lines that the table does not explain"
    assert readme_table <= extras, (
        f"extras the README names but pyproject lacks: {readme_table - extras}"
    )
    assert "./pgstack[" in block.text and "#subdirectory=pgstack" in block.text
    assert "python -m build --outdir dist pgstack" in block.text
    assert (REPO / "pgstack" / "pyproject.toml").is_file()


def _section(path: Path, title: str) -> str:
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no section {title!r} in {path}"
    return match.group(1)


def test_every_public_name_has_its_place_in_the_readme():
    text = README.read_text(encoding="utf-8")
    headings = set(re.findall(r"^#+ (.*)$", text, re.M))
    fixtures = [n for n in plugin.__all__ if not n.startswith("pytest_") and n != "FreshDatabase"]
    for name in fixtures:
        assert f"`{name}`" in headings, f"fixture {name} has no section"
    rows = set(re.findall(r"^\| `(\w+)` \| `PGSTACK_", text, re.M))
    assert rows == set(KINDS), f"settings table vs setting_kinds.py: {rows ^ set(KINDS)}"
    commands = set(cli.main.commands)
    assert isinstance(cli.main, click.Group)
    documented = set(re.findall(r"^\| `(\w+)[ `]", _section(README, "CLI"), re.M))
    assert commands <= documented, f"commands without a row: {commands - documented}"
    for name in ("load_settings", "Settings", "make_engine", "rollback_session",
                 "rollback_transaction"):  # fmt: skip
        assert f"`{name}`" in headings, f"{name} has no section"
    for name in (django.django_db_setup.__name__, django.check_database.__name__):
        assert f"**`{name}`**" in text or f"**`{name}(" in text, name
    error_rows = set(re.findall(r"^\| `(\w+)` \| ", _section(README, "Errors"), re.M))
    exported = {
        name
        for name in pgstack.__all__
        if isinstance(getattr(pgstack, name), type)
        and issubclass(getattr(pgstack, name), errors.PgstackError)
    }
    exported.discard("ServerLost")  # exported but never raised: leaving the public API
    assert exported <= error_rows, f"errors without a row: {exported - error_rows}"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = _FENCE.sub("", path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#+ (.*)$", text, re.M):
        slug = _slug(heading)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


DOCS = [README, ROOT_README, *sorted((REPO / "docs").rglob("*.md"))]


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(REPO)))
def test_links_and_anchors_resolve(doc):
    text = _FENCE.sub("", doc.read_text(encoding="utf-8"))
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # https://, mailto:
        path, _, anchor = target.partition("#")
        linked = (doc.parent / path).resolve() if path else doc
        assert linked.exists(), f"{doc.name}: {target} does not exist"
        if anchor:
            assert linked.suffix == ".md", f"{doc.name}: {target}"
            assert anchor in _anchors(linked), f"{doc.name}: no heading for #{anchor}"


def test_root_readme_names_real_make_targets():
    targets = set(re.findall(r"^([\w-]+):", (REPO / "Makefile").read_text(), re.M))
    named = set(re.findall(r"\bmake ([a-z][\w-]*)", ROOT_README.read_text(encoding="utf-8")))
    assert named <= targets, f"targets the README names but the Makefile lacks: {named - targets}"


def test_root_readme_lists_no_library_modules():
    """Modules move; the root README's layout stops at top-level folders."""
    layout = _section(ROOT_README, "Layout")
    assert "pgstack/README.md#inside-the-modules-in-the-order-of-a-run" in layout
    assert not re.findall(r"\w+\.py\b", layout), layout
    for doc in (ROOT_README, README):
        assert "src/pgstack/" not in doc.read_text(encoding="utf-8"), doc


def test_snippet_helpers_read_blocks_as_documented(tmp_path):
    """The block grammar itself: attributes, flags, joined files."""
    sample = textwrap.dedent(
        """\
        ```toml project=p file=a.toml
        x = 1
        ```
        ```sh project=p run
        pytest
        ```
        """
    )
    path = tmp_path / "sample.md"
    path.write_text(sample)
    first, second = blocks(path)
    assert (first.attrs, first.flags, first.text) == (
        {"project": "p", "file": "a.toml"},
        set(),
        "x = 1\n",
    )
    assert (second.attrs, second.flags, second.line) == ({"project": "p"}, {"run"}, 4)


def test_root_readme_quotes_the_backends_real_table():
    """The root README shows the example backend's [tool.pgstack] as it is."""
    (block,) = [b for b in blocks(ROOT_README) if b.lang == "toml"]
    shown = tomllib.loads(block.text)["tool"]["pgstack"]
    real = tomllib.loads((REPO / "backend" / "pyproject.toml").read_text())["tool"]["pgstack"]
    assert shown == real


def test_every_test_the_readme_cites_exists():
    """The reliability and security tables name the tests that prove each case; a renamed
    test must not leave a claim without its proof."""
    cited = 0
    for line in README.read_text(encoding="utf-8").splitlines():
        file = None
        for match in re.finditer(r"`(?:(test_\w+\.py)|…)::(test_\w+)", line):
            file = match.group(1) or file
            assert file is not None, line
            source = (PGSTACK_DIR / "tests" / file).read_text(encoding="utf-8")
            assert f"def {match.group(2)}(" in source, f"{file}::{match.group(2)}"
            cited += 1
    assert cited > 60
