"""The compose stack, run for real: the suite passes through `docker compose run --rm
tests`, a failing test fails the run, `down` leaves nothing, and two stacks with different
project names run side by side.

Images: POSTGRES_IMAGE / REDIS_IMAGE / PYTHON_IMAGE from the environment (CI sets them to
the offline stand-ins of scripts/build-offline-images.sh), else the official images.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker_state import leftovers, tail

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.test.yml"
COMPOSE = ["docker", "compose", "-f", str(COMPOSE_FILE)]
TIMEOUT = 900


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    """A command in the repository root, its output captured; the caller checks the code."""
    return subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )


def compose(project: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run("docker", "compose", "-p", project, "-f", str(COMPOSE_FILE), *args)


@pytest.fixture(scope="session", autouse=True)
def runner_image() -> None:
    """Docker must work here: a missing engine fails the run, it does not skip it."""
    version = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, text=True, check=False
    )
    if version.returncode != 0:
        pytest.fail(
            "Docker Compose v2 is not available (`docker compose version` failed: "
            f"{(version.stderr or version.stdout).strip()}). Install Docker, or on a machine "
            "like CI's run scripts/ci-docker-setup.sh.",
            pytrace=False,
        )
    built = compose("pgstack-e2e-build", "build", "db", "tests")
    if built.returncode != 0:
        pytest.fail(f"building the db and tests images failed:\n{tail(built)}", pytrace=False)


@pytest.fixture
def project() -> Iterator[str]:
    name = f"pgstack-e2e-{uuid.uuid4().hex[:8]}"
    yield name
    compose(name, "down", "-v", "--remove-orphans")


# Both the offline stand-in's entrypoint and the official image's print it after initdb.
FULL_INIT = "init process complete"


def test_suite_passes_and_down_leaves_nothing(project):
    result = compose(project, "run", "--rm", "tests")
    assert result.returncode == 0, tail(result)
    summary = re.search(r"(\d+) passed", result.stdout)
    assert summary and int(summary.group(1)) >= 150, tail(result)
    assert " failed" not in result.stdout and " skipped" not in result.stdout
    # The runner built the template (the header: pytest, or the early build beside it), on
    # the fresh stack's db...
    assert re.search(
        r"template pgstack_tpl_\w+ \((built|reused, built meanwhile by run \w+)\)", result.stdout
    ), tail(result)
    # ...which started from the cluster made when its image was built (.pgstack/db), not initdb.
    logs = compose(project, "logs", "db")
    assert logs.returncode == 0 and "ready to accept connections" in logs.stdout, tail(logs)
    assert FULL_INIT not in logs.stdout, tail(logs)

    down = compose(project, "down", "-v", "--remove-orphans")
    assert down.returncode == 0, tail(down)
    assert leftovers(project) == {"ps": [], "network": [], "volume": []}


@pytest.mark.parametrize(
    "setting",
    ["another password file", "another POSTGRES_DB"],
)
def test_db_applies_the_secret_at_start_and_initialises_other_settings(project, setting):
    """The password is the secret's at start, not one baked into the image; a database name
    other than the image's build falls back to the image's own first-start init."""
    secret = Path(tempfile.mkdtemp(prefix="pgstack-e2e-")) / "postgres_password"
    try:
        secret.write_text('an\'other "pass" word %@/\n')
        secret.parent.chmod(0o755)
        secret.chmod(0o644)  # readable by the runner's non-root user
        env = {"POSTGRES_PASSWORD_FILE": str(secret)}
        if setting == "another POSTGRES_DB":
            env["POSTGRES_DB"] = "app_other"
        result = subprocess.run(
            [*COMPOSE, "-p", project, "run", "--rm", "tests", "-q", "-n", "0", "-k", "health"],
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        logs = compose(project, "logs", "db").stdout
    finally:
        shutil.rmtree(secret.parent, ignore_errors=True)
    assert result.returncode == 0, tail(result)
    assert re.search(r"\d+ passed", result.stdout), tail(result)
    assert (FULL_INIT in logs) == (setting == "another POSTGRES_DB"), logs[-3000:]


# Imported by pytest as a plugin (-p), before pgstack's own start: pytest reaches the
# template only after the build the entrypoint started beside it has ended.
SLOW_START = "import time\n\ntime.sleep(4)\n"


def test_the_template_build_starts_beside_pytest(project):
    """The entrypoint starts `pgstack prepare` in the background before pytest: a pytest
    that starts late finds the template of the fresh stack's db built already."""
    extra = Path(tempfile.mkdtemp(prefix="pgstack-e2e-"))
    try:
        (extra / "slow_start.py").write_text(SLOW_START)
        for path in (extra, extra / "slow_start.py"):
            path.chmod(0o755)  # readable by the runner's non-root user
        result = compose(
            project, "run", "--rm", "-v", f"{extra}:/extra:ro", "-e", "PYTHONPATH=/extra",
            "tests", "-p", "slow_start", "-n", "0", "-k", "health",
        )  # fmt: skip
    finally:
        shutil.rmtree(extra, ignore_errors=True)
    assert result.returncode == 0, tail(result)
    assert re.search(r"template pgstack_tpl_\w+ \(reused\)", result.stdout), tail(result)


def test_a_failing_test_fails_the_run(project):
    extra = Path(tempfile.mkdtemp(prefix="pgstack-e2e-"))
    try:
        (extra / "test_fails.py").write_text("def test_fails():\n    assert 1 == 2\n")
        for path in (extra, extra / "test_fails.py"):
            path.chmod(0o755)  # readable by the runner's non-root user
        result = compose(
            project, "run", "--rm", "-v", f"{extra}:/extra:ro", "tests", "/extra/test_fails.py"
        )
    finally:
        shutil.rmtree(extra, ignore_errors=True)
    assert result.returncode == 1, tail(result)
    assert "1 failed" in result.stdout


def test_two_stacks_run_side_by_side():
    names = [f"pgstack-e2e-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    cmd = ["docker", "compose", "-f", str(COMPOSE_FILE), "run", "--rm", "tests", "-q"]
    args = ["-k", "isolation or health or cache"]
    procs = [
        subprocess.Popen(
            [*cmd[:2], "-p", name, *cmd[2:], *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in names
    ]
    try:
        outputs = [proc.communicate(timeout=TIMEOUT)[0] for proc in procs]
        for proc, output in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, output[-4000:]
            assert re.search(r"\d+ passed", output)
    finally:
        for name in names:
            compose(name, "down", "-v", "--remove-orphans")


def _config() -> dict:
    """The stack as Compose resolves it (interpolation, merges, the tests profile)."""
    result = run(
        "docker", "compose", "-f", str(COMPOSE_FILE), "--profile", "tests", "config",
        "--format", "json",
    )  # fmt: skip
    assert result.returncode == 0, tail(result)
    return json.loads(result.stdout)


def test_runner_is_not_root(project):
    # As configured: no `user:` override back to root (the image's user is non-root)...
    user = _config()["services"]["tests"].get("user", "")
    assert user.split(":")[0] not in {"0", "root"}, user
    # ...and as it runs.
    result = compose(project, "run", "--rm", "--entrypoint", "id", "tests", "-u")
    assert result.returncode == 0, tail(result)
    assert result.stdout.strip() not in {"", "0"}, tail(result)


def test_the_runner_image_holds_no_credentials(project):
    """Credentials reach the runner as secrets only: the image has neither the secrets
    folder (Dockerfile.test.dockerignore) nor the credential lines of .env.test."""
    script = "test ! -e /app/secrets && ! grep -E '^(JWT_SECRET|POSTGRES_PASSWORD)=' /app/.env.test"
    result = compose(
        project, "run", "--rm", "--no-deps", "--entrypoint", "sh", "tests", "-c", script
    )
    assert result.returncode == 0, tail(result)


def test_no_published_ports_and_no_credentials_in_environments():
    config = _config()
    services = config["services"]
    assert set(services) == {"db", "redis", "tests"}
    assert {name: s["ports"] for name, s in services.items() if s.get("ports")} == {}
    # Credentials reach containers as secrets (files under /run/secrets), never as
    # environment values, which `docker inspect` shows to anyone with daemon access.
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|TOKEN", key):
                assert key.endswith("_FILE") and value.startswith("/run/secrets/"), (name, key)
            assert not re.search(r"://[^/@]*:[^/@]*@", str(value)), (name, key)  # URL password
        for secret in service.get("secrets", []):
            assert Path(config["secrets"][secret["source"]]["file"]).is_file(), (name, secret)


@pytest.mark.parametrize(
    "compose_file", ["docker-compose.test.yml", ".devcontainer/docker-compose.devcontainer.yml"]
)
def test_compose_lint_passes(compose_file):
    """`make lint`'s security linter: no finding at or above its threshold, config valid."""
    linter = Path(sys.executable).parent / "compose-lint"
    assert linter.is_file(), f"{linter} missing: install requirements-dev.txt (make venv)"
    result = run(str(linter), "--strict-config", "-q", compose_file)
    assert result.returncode == 0, tail(result)
    assert "PASS" in result.stdout, tail(result)


def test_devcontainer_override_gives_a_working_shell():
    """What the devcontainer does: keep the runner up, install, prepare, run pytest in it."""
    name = f"pgstack-e2e-{uuid.uuid4().hex[:8]}"
    files = [
        "-f",
        str(COMPOSE_FILE),
        "-f",
        str(ROOT / ".devcontainer/docker-compose.devcontainer.yml"),
    ]
    base = ["docker", "compose", "-p", name, *files]

    def in_stack(*args: str) -> subprocess.CompletedProcess[str]:
        return run(*base, *args)

    try:
        up = in_stack("up", "-d", "--wait")
        assert up.returncode == 0, tail(up)
        post_create = json.loads((ROOT / ".devcontainer/devcontainer.json").read_text())[
            "postCreateCommand"
        ]
        shell = in_stack(
            "exec", "-T", "-w", "/app", "tests", "sh", "-c",
            f"{post_create} && pytest -q -p no:cacheprovider -k 'health or isolation'",
        )  # fmt: skip
        assert shell.returncode == 0, tail(shell)
        assert re.search(r"\d+ passed", shell.stdout)
    finally:
        in_stack("down", "-v", "--remove-orphans")
