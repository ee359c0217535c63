"""The compose template applied to projects that are not this repository, for real.

Each example project under examples/ is copied out of the repository and given its test
stack by `pgstack init --compose`, with nothing written by hand: its suite passes through
`docker compose run --rm tests`, a failing test fails that command, `down -v` leaves nothing,
and a second init changes nothing. Then the update path: a project renders the template from
git, edits a generated file, and `copier update` brings a later template version in without
losing that edit.

pgstack is not on the package index here, so each copy gets pgstack's wheel in vendor/ and
the answer local_wheels=vendor (pip looks there first). Images: POSTGRES_IMAGE / REDIS_IMAGE /
PYTHON_IMAGE from the environment, as in test_compose.py.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from docker_state import leftovers, tail

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
EXAMPLES = sorted(p.name for p in (ROOT / "examples").iterdir() if (p / "pyproject.toml").is_file())
TIMEOUT = 900
FAILING_TEST = "def test_that_fails():\n    assert 1 == 2\n"
GIT = ["git", "-c", "user.name=pgstack e2e", "-c", "user.email=e2e@pgstack.invalid"]


def run(cwd: Path, *cmd: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in cmd],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def init(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    pgstack = BIN / "pgstack"
    return run(project, pgstack, "init", "--compose", "--data", "local_wheels=vendor", *args)


def stack(project: Path, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run(project, "docker", "compose", "-p", name, "-f", "docker-compose.test.yml", *args)


@pytest.fixture(scope="module")
def pgstack_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = run(ROOT, sys.executable, "-m", "build", "--wheel", "--outdir", out, ROOT / "pgstack")
    assert built.returncode == 0, tail(built)
    (wheel,) = out.glob("pgstack-*.whl")
    return wheel


def copy_example(example: str, into: Path, wheel: Path) -> Path:
    """The example as a project of its own, outside this repository."""
    project = into / example
    shutil.copytree(
        ROOT / "examples" / example,
        project,
        ignore=shutil.ignore_patterns(".venv", "__pycache__", ".pytest_cache"),
    )
    (project / "vendor").mkdir()
    shutil.copy2(wheel, project / "vendor")
    return project


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_template_runs_each_example_in_compose(example, tmp_path, pgstack_wheel):
    project = copy_example(example, tmp_path, pgstack_wheel)
    first = init(project)
    assert first.returncode == 0, tail(first)
    for name in ("docker-compose.test.yml", "Dockerfile.test", ".pgstack/entrypoint.sh"):
        assert f"create   {name}" in first.stdout, tail(first)
    # Idempotent: a second run writes nothing, and the check finds no drift.
    again = init(project)
    assert again.returncode == 0 and "nothing to do" in again.stdout, tail(again)
    check = init(project, "--check")
    assert check.returncode == 0, tail(check)

    name = f"pgstack-tpl-{uuid.uuid4().hex[:8]}"
    try:
        built = stack(project, name, "build", "tests")
        assert built.returncode == 0, tail(built)
        # The project's secrets folder stays out of the image (Compose mounts each secret).
        bare = stack(
            project, name, "run", "--rm", "--no-deps", "--entrypoint", "sh", "tests", "-c",
            "test ! -e /app/secrets && test -x /app/.pgstack/entrypoint.sh",
        )  # fmt: skip
        assert bare.returncode == 0, tail(bare)
        result = stack(project, name, "run", "--rm", "tests")
        assert result.returncode == 0, tail(result)
        collected = re.search(r"workers \[(\d+) items?\]", result.stdout)
        passed = re.search(r"(\d+) passed", result.stdout)
        assert collected and passed, tail(result)
        assert passed.group(1) == collected.group(1), tail(result)
        assert "failed" not in result.stdout and "skipped" not in result.stdout, tail(result)
        # The db started from the cluster its image was built with (.pgstack/db), no initdb.
        logs = stack(project, name, "logs", "db")
        assert "ready to accept connections" in logs.stdout, tail(logs)
        assert "init process complete" not in logs.stdout, tail(logs)

        # A failing test fails the command: the test file mounted into the built image.
        failing = project / "test_that_fails.py"
        failing.write_text(FAILING_TEST)
        mount = f"{failing}:/app/tests/test_that_fails.py:ro"
        failed = stack(
            project, name, "run", "--rm", "-v", mount, "tests", "tests/test_that_fails.py"
        )
        assert failed.returncode != 0, tail(failed)
        assert "1 failed" in failed.stdout, tail(failed)
    finally:
        down = stack(project, name, "down", "-v", "--remove-orphans")
    assert down.returncode == 0, tail(down)
    assert leftovers(name) == {"ps": [], "network": [], "volume": []}


def commit_all(folder: Path, message: str) -> None:
    for step in (["add", "-A"], ["commit", "-q", "-m", message]):
        done = run(folder, *GIT, *step)
        assert done.returncode == 0, tail(done)


def test_an_update_keeps_the_projects_own_edit(tmp_path, pgstack_wheel):
    """The template from git (v1), a project edit, the template's v2: `copier update` brings
    v2's change in and keeps the edit; a line both changed comes back as a marked conflict."""
    template = tmp_path / "template"
    shutil.copytree(ROOT / "pgstack/src/pgstack/compose_template", template)
    assert run(template, "git", "init", "-q").returncode == 0
    commit_all(template, "v1")
    assert run(template, "git", "tag", "v1").returncode == 0

    project = copy_example("sql", tmp_path, pgstack_wheel)
    assert run(project, "git", "init", "-q").returncode == 0
    first = init(project, "--template", str(template), "--vcs-ref", "v1")
    assert first.returncode == 0, tail(first)
    commit_all(project, "the test stack, from the template's v1")
    compose_file = project / "docker-compose.test.yml"
    dockerfile = project / "Dockerfile.test"
    # The project's edits: one far from what v2 changes, one on the very line v2 changes.
    compose_file.write_text(compose_file.read_text().replace("shm_size: 256m", "shm_size: 512m"))
    dockerfile.write_text(dockerfile.read_text().replace("ARG UID=1000", "ARG UID=1001"))
    commit_all(project, "our own settings")

    files = template / "files"
    compose_tpl = files / "docker-compose.test.yml.jinja"
    worker_line = "    # One xdist worker per CPU of the limit (the entrypoint)."
    assert worker_line in compose_tpl.read_text()
    compose_tpl.write_text(
        compose_tpl.read_text().replace(worker_line, worker_line + " More need more memory.")
    )
    docker_tpl = files / "Dockerfile.test.jinja"
    docker_tpl.write_text(docker_tpl.read_text().replace("ARG UID=1000", "ARG UID=1002"))
    commit_all(template, "v2")
    assert run(template, "git", "tag", "v2").returncode == 0

    update = run(project, BIN / "copier", "update", "--defaults", "-a", ".pgstack-answers.yml")
    assert update.returncode == 0, tail(update)
    merged = compose_file.read_text()
    assert "shm_size: 512m" in merged  # the project's edit survived
    assert "More need more memory." in merged  # and v2's change came in
    assert "<<<<<<<" not in merged
    conflict = dockerfile.read_text()
    assert "<<<<<<<" in conflict and "ARG UID=1001" in conflict and "ARG UID=1002" in conflict
    assert "_commit: v2" in (project / ".pgstack-answers.yml").read_text()

    # The check renders from the recorded template and commit, and shows the edits as drift.
    check = init(project, "--check")
    assert check.returncode == 1, tail(check)
    assert re.search(rf"template +{re.escape(str(template))} at v2", check.stdout), tail(check)
    assert "-    shm_size: 512m" in check.stdout, tail(check)
