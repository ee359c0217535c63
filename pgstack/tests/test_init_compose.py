"""`pgstack init --compose`: the compose test stack rendered into a project, without Docker.

What it detects, the files it writes, that it never replaces a file of the project's without
the diff shown and --force, that a second run writes nothing, --check, and clear errors for
bad answers. e2e/test_compose_template.py runs the rendered stacks in Docker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from pgstack.compose_answers import detect
from pgstack.compose_files import builtin_template, render

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
STACK_FILES = {
    ".devcontainer/.compose-lint.yml",
    ".devcontainer/devcontainer.json",
    ".devcontainer/docker-compose.devcontainer.yml",
    ".env.test",
    ".github/workflows/pgstack-tests.yml",
    ".pgstack/db/Dockerfile",
    ".pgstack/db/entrypoint.sh",
    ".pgstack/entrypoint.sh",
    ".pgstack/pytest-then-exit.py",
    ".pgstack-answers.yml",
    "Dockerfile.test",
    "Dockerfile.test.dockerignore",
    "Makefile",
    "docker-compose.test.yml",
    "pgstack.mk",
    "secrets/postgres_password",
}


def init(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pgstack.cli", "init", "--compose", *args],
        capture_output=True,
        text=True,
        cwd=folder,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """The SQL example as a project of its own."""
    project = tmp_path / "ledger"
    shutil.copytree(EXAMPLES / "sql", project, ignore=shutil.ignore_patterns(".venv"))
    return project


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_init_writes_the_stack_and_a_second_run_changes_nothing(ledger):
    before = files_of(ledger)
    first = init(ledger)
    assert first.returncode == 0, output(first)
    written = set(files_of(ledger)) - set(before)
    assert written == STACK_FILES
    assert all(files_of(ledger)[name] == content for name, content in before.items())
    assert os.access(ledger / ".pgstack/entrypoint.sh", os.X_OK)
    compose = yaml.safe_load((ledger / "docker-compose.test.yml").read_text())
    assert compose["name"] == "ledger-test"
    assert set(compose["services"]) == {"db", "tests"}  # the example uses no Redis
    assert compose["services"]["tests"]["volumes"] == ["./db/migrations:/app/db/migrations:ro"]
    assert "ports" not in compose["services"]["db"]
    assert "POSTGRES_PASSWORD" not in compose["services"]["db"]["environment"]

    stamps = {p: p.stat().st_mtime_ns for p in ledger.rglob("*") if p.is_file()}
    again = init(ledger)
    assert again.returncode == 0, output(again)
    assert "nothing to do" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in ledger.rglob("*") if p.is_file()} == stamps
    check = init(ledger, "--check")
    assert check.returncode == 0, output(check)
    assert f"{len(STACK_FILES) - 1} files match; 1 kept as yours" in check.stdout
    # A render of the wheel's template records no path of this machine.
    assert "_src_path" not in (ledger / ".pgstack-answers.yml").read_text()


def test_a_file_of_the_project_is_replaced_only_after_its_diff_and_with_force(ledger):
    ours = ledger / "Dockerfile.test"
    ours.write_text("FROM python:3.12\n# our own runner\n")
    refused = init(ledger)
    assert refused.returncode == 1, output(refused)
    assert "Dockerfile.test differs from the template's" in refused.stdout
    assert "-# our own runner" in refused.stdout  # the diff, ours on the minus side
    assert "nothing was written" in refused.stderr
    assert "--force" in refused.stderr and "Traceback" not in output(refused)
    assert ours.read_text() == "FROM python:3.12\n# our own runner\n"
    assert not (ledger / "docker-compose.test.yml").exists()  # not even the new files

    forced = init(ledger, "--force")
    assert forced.returncode == 0, output(forced)
    assert "replace   Dockerfile.test" in forced.stdout
    assert "our own runner" not in ours.read_text()


def test_check_reports_drift_and_missing_files(ledger):
    assert init(ledger).returncode == 0
    compose = ledger / "docker-compose.test.yml"
    compose.write_text(compose.read_text().replace("mem_limit: 256m", "mem_limit: 1g"))
    compose.write_text(compose.read_text().replace("shm_size: 256m", "shm_size: 1g"))
    (ledger / "pgstack.mk").unlink()
    check = init(ledger, "--check")
    assert check.returncode == 1, output(check)
    assert "-    shm_size: 1g" in check.stdout and "+    shm_size: 256m" in check.stdout
    assert "differs   docker-compose.test.yml" in check.stdout
    assert "missing   pgstack.mk" in check.stdout
    assert not (ledger / "pgstack.mk").exists()  # --check writes nothing


def test_the_stack_of_a_backend_in_a_subfolder(tmp_path):
    """Run from the repository's root, for the project in backend/."""
    shutil.copytree(EXAMPLES / "sql", tmp_path / "backend", ignore=shutil.ignore_patterns(".venv"))
    (tmp_path / "Makefile").write_text("build:\n\techo ours\n")
    done = init(tmp_path, "--data", "project_name=shop")
    assert done.returncode == 0, output(done)
    compose = yaml.safe_load((tmp_path / "docker-compose.test.yml").read_text())
    assert compose["services"]["tests"]["volumes"] == [
        "./backend/db/migrations:/app/backend/db/migrations:ro"
    ]
    dockerfile = (tmp_path / "Dockerfile.test").read_text()
    assert "COPY --chown=${UID}:${GID} backend/requirements.txt backend/" in dockerfile
    assert "WORKDIR /app/backend\n" in dockerfile
    assert "PGSTACK_BACKEND := backend" in (tmp_path / "pgstack.mk").read_text()
    # The project has a Makefile: it stays its own, and is told how to include pgstack.mk.
    assert (tmp_path / "Makefile").read_text() == "build:\n\techo ours\n"
    assert "include pgstack.mk" in done.stdout


def test_a_project_outside_the_current_folder_is_refused(tmp_path, ledger):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "pgstack.cli", "--project", str(ledger), "init", "--compose"],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, output(result)
    assert "is not inside" in result.stderr and "Traceback" not in output(result)
    assert list(elsewhere.iterdir()) == []


def test_without_a_pyproject_here_or_in_one_subfolder_it_asks_which_project(tmp_path):
    for name in ("api", "worker"):
        write(tmp_path / name, {"pyproject.toml": f'[project]\nname = "{name}"\n'})
    result = init(tmp_path)
    assert result.returncode == 1, output(result)
    assert "its subfolders with one are: api, worker" in result.stderr
    assert "--project" in result.stderr and "Traceback" not in output(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["api", "worker"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("project_name", "write it as KEY=VALUE"),
        ("project_name=Not A Name", "use lowercase letters, digits"),
    ],
)
def test_a_bad_answer_is_a_clear_error_and_writes_nothing(ledger, data, message):
    before = files_of(ledger)
    result = init(ledger, "--data", data)
    assert result.returncode == 1, output(result)
    assert message in " ".join(result.stderr.split()), output(result)
    assert "Traceback" not in output(result)
    assert files_of(ledger) == before


def test_without_copier_it_says_which_extra_to_install(ledger, tmp_path):
    blocker = tmp_path / "no-copier"
    blocker.mkdir()
    (blocker / "copier.py").write_text("raise ImportError('copier is not installed')\n")
    result = subprocess.run(
        [sys.executable, "-m", "pgstack.cli", "init", "--compose"],
        capture_output=True,
        text=True,
        cwd=ledger,
        env={**os.environ, "PYTHONPATH": str(blocker)},
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, output(result)
    assert "pip install 'pgstack[template]'" in result.stderr
    assert "Traceback" not in output(result)


def test_an_unreadable_answers_file_is_a_clear_error(ledger):
    (ledger / ".pgstack-answers.yml").write_text("project_name: [unclosed\n")
    result = init(ledger)
    assert result.returncode == 1, output(result)
    assert "is not valid YAML" in result.stderr and "Traceback" not in output(result)


def test_a_symlink_in_place_of_a_generated_file_is_not_followed(ledger, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("not the project's\n")
    (ledger / "docker-compose.test.yml").symlink_to(outside)
    result = init(ledger, "--force")
    assert result.returncode == 1, output(result)
    assert "not a regular file" in result.stderr
    assert outside.read_text() == "not the project's\n"


def test_the_projects_own_env_file_is_kept_even_with_force(ledger):
    """.env.test is the project's settings: written when missing, never replaced."""
    ours = "POSTGRES_DB=app_test\nLEDGER_CURRENCY=EUR\n"
    (ledger / ".env.test").write_text(ours)
    done = init(ledger, "--force")
    assert done.returncode == 0, output(done)
    assert "keep      .env.test" in done.stdout
    assert (ledger / ".env.test").read_text() == ours
    assert init(ledger, "--check").returncode == 0


def test_app_secrets_are_compose_secrets_exported_by_the_entrypoint(tmp_path):
    answers = {
        "project_name": "shop",
        "app_secrets": {"JWT_SECRET": "jwt_secret", "STRIPE_KEY": "stripe_key"},
        "collect_at_build": True,
    }
    render(str(builtin_template()), answers, tmp_path / "out", None)
    compose = yaml.safe_load((tmp_path / "out/docker-compose.test.yml").read_text())
    assert compose["secrets"]["stripe_key"] == {"file": "${STRIPE_KEY_FILE:-./secrets/stripe_key}"}
    tests = compose["services"]["tests"]
    assert tests["secrets"] == ["postgres_password", "jwt_secret", "stripe_key"]
    assert not any("SECRET" in key or "KEY" in key for key in tests["environment"])
    entrypoint = (tmp_path / "out/.pgstack/entrypoint.sh").read_text()
    assert 'STRIPE_KEY="$(cat "$SECRETS_DIR/stripe_key")"' in entrypoint
    assert 'printf "JWT_SECRET=\'%s\'\\n" "${JWT_SECRET:-}"' in entrypoint
    dockerfile = (tmp_path / "out/Dockerfile.test").read_text()
    # Left out of the image's .env.test, and given placeholders for the build's collection.
    assert "/^(DATABASE_URL|POSTGRES_PASSWORD|JWT_SECRET|STRIPE_KEY)=/d" in dockerfile
    assert "STRIPE_KEY=placeholder-" in dockerfile and "--collect-only" in dockerfile
    shell = subprocess.run(["sh", "-n", tmp_path / "out/.pgstack/entrypoint.sh"], check=False)
    assert shell.returncode == 0


def test_an_app_secret_with_a_bad_name_is_refused(ledger):
    result = init(ledger, "--data", "app_secrets={jwt secret: ../../etc/passwd}")
    assert result.returncode == 1, output(result)
    assert "use an UPPER_CASE variable and a lowercase file name" in result.stderr
    assert not (ledger / "docker-compose.test.yml").exists()


def test_the_postgres_settings_file_of_the_table_is_mounted_into_the_db(tmp_path):
    shutil.copytree(EXAMPLES / "sql", tmp_path / "api", ignore=shutil.ignore_patterns(".venv"))
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf/pg.conf").write_text("fsync = off\n")
    pyproject = tmp_path / "api/pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.pgstack]", '[tool.pgstack]\npostgres_conf = "../conf/pg.conf"'
        )
    )
    done = init(tmp_path, "--data", "makefile=none")
    assert done.returncode == 0, output(done)
    db = yaml.safe_load((tmp_path / "docker-compose.test.yml").read_text())["services"]["db"]
    assert db["volumes"] == ["./conf/pg.conf:/etc/postgresql/postgresql.test.conf:ro"]
    assert db["command"] == ["postgres", "-c", "config_file=/etc/postgresql/postgresql.test.conf"]
    # makefile=none: the project's make targets are its own business.
    assert not (tmp_path / "Makefile").exists() and not (tmp_path / "pgstack.mk").exists()


def test_this_repositorys_stack_is_the_templates_render(tmp_path):
    """The repository's own compose files, as committed, are what the template renders with
    the recorded answers; an edit to one is drift."""
    root = EXAMPLES.parent
    answers = yaml.safe_load((root / ".pgstack-answers.yml").read_text())
    copy = tmp_path / "repo"
    for name in ("backend", "db", ".pgstack", ".devcontainer", "secrets"):
        shutil.copytree(root / name, copy / name, ignore=shutil.ignore_patterns(".venv", "*.pyc"))
    for name in (".pgstack-answers.yml", ".env.test", "docker-compose.test.yml", "Dockerfile.test",
                 "Dockerfile.test.dockerignore", *answers["requirements_files"],
                 *answers["constraints_files"]):  # fmt: skip
        shutil.copy2(root / name, copy / name)
    (copy / "pgstack").mkdir()
    check = init(copy, "--check")
    assert check.returncode == 0, output(check)
    compose = copy / "docker-compose.test.yml"
    compose.write_text(compose.read_text().replace("mem_limit: 2g", "mem_limit: 1g", 1))
    drift = init(copy, "--check")
    assert drift.returncode == 1, output(drift)
    assert "-    mem_limit: 1g" in drift.stdout and "+    mem_limit: 2g" in drift.stdout


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


@pytest.mark.parametrize(
    ("files", "install", "packages"),
    [
        (
            {"requirements.txt": "psycopg==3.2\n"},
            "requirements",
            ["pgstack[xdist]", "psycopg[binary]"],
        ),
        (
            {"requirements.txt": "pgstack[xdist]==0.1\npsycopg[binary,pool]==3.2  # ours\n"},
            "requirements",
            [],
        ),
        ({"uv.lock": 'name = "pgstack"\n\nname = "psycopg-binary"\n'}, "uv", []),
        ({"poetry.lock": 'name = "psycopg-c"\n'}, "poetry", ["pgstack[xdist]"]),
        ({}, "pip", ["pgstack[xdist]", "psycopg[binary]"]),
        # A comment naming pgstack is not a dependency on it.
        ({"requirements.txt": "# pgstack comes from ../pgstack\n"}, "requirements", None),
    ],
)
def test_detects_how_the_dependencies_install(tmp_path, files, install, packages):
    write(tmp_path, {"pyproject.toml": '[project]\nname = "x"\n', **files})
    answers = detect(tmp_path, tmp_path, {}, {}).values
    assert answers["install"] == install
    both = ["pgstack[xdist]", "psycopg[binary]"]
    assert answers["runner_packages"] == (both if packages is None else packages)


def test_detects_pgstack_in_the_projects_own_dependencies(tmp_path):
    write(
        tmp_path,
        {
            "pyproject.toml": '[project]\nname = "x"\ndependencies = ["psycopg[c]"]\n'
            '[dependency-groups]\ntest = ["pgstack[xdist]>=0.1"]\n',
            ".python-version": "3.13.1\n",
        },
    )
    answers = detect(tmp_path, tmp_path, {}, {}).values
    assert answers["runner_packages"] == []
    assert answers["python_version"] == "3.13"


@pytest.mark.parametrize("install", ["uv", "poetry", "pip"])
def test_each_install_renders_a_runnable_dockerfile(tmp_path, install):
    answers = {
        "project_name": "shop",
        "backend_dir": "app",
        "install": install,
        "extra_services": {"mail": {"image": "axllent/mailpit", "port": 1025}},
        "redis": False,
    }
    render(str(builtin_template()), answers, tmp_path / "out", None)
    dockerfile = (tmp_path / "out/Dockerfile.test").read_text()
    run = dockerfile[dockerfile.index("RUN python -m venv") :].split("\n\n")[0].splitlines()
    assert all(line.endswith(" \\") for line in run[:-1]) and not run[-1].endswith("\\"), run
    expected = {"uv": "uv sync --frozen", "poetry": "poetry install --no-root", "pip": "./app"}
    assert expected[install] in dockerfile
    assert '"pgstack[xdist]"' in dockerfile and "wait-for-it" in dockerfile
    compose = yaml.safe_load((tmp_path / "out/docker-compose.test.yml").read_text())
    assert set(compose["services"]) == {"db", "mail", "tests"}
    assert compose["services"]["tests"]["environment"]["WAIT_FOR"] == "mail:1025"
    assert "redis" not in compose["services"]["tests"]["depends_on"]


@pytest.mark.parametrize(
    ("args", "cpu_max", "early"),
    [
        ([], "200000 100000", True),
        (["-k", "health", "-n", "0"], "150000 100000", True),
        ([], "100000 100000", False),  # one CPU: the two would take turns on it
        (["--no-pgstack"], "200000 100000", False),
        (["--create-db"], "200000 100000", False),
        (["--ds=shop.settings_other"], "200000 100000", False),
        (["--no-migrations"], "200000 100000", False),
    ],
)
def test_the_entrypoint_starts_the_template_build_beside_pytest(tmp_path, args, cpu_max, early):
    """`pgstack prepare` in the background, then pytest; not with options that give pytest
    another template (or none), nor on one CPU. ``python`` here only notes how it was
    called; ``cpu_max`` is the container's CPU quota (cgroup v2)."""
    render(str(builtin_template()), {"project_name": "shop"}, tmp_path / "out", None)
    cgroup = tmp_path / "cgroup"
    cgroup.mkdir()
    (cgroup / "cpu.max").write_text(cpu_max + "\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    fake = bin_dir / "python"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$*" >> "$CALLS"\n')
    fake.chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "CALLS": str(log),
        "DATABASE_URL": "postgresql://app@db/app_test",
        "PYTEST_WORKERS": "2",
        "CGROUP_DIR": str(cgroup),
    }
    ran = subprocess.run(
        ["sh", tmp_path / "out/.pgstack/entrypoint.sh", *args], env=env, check=False, timeout=30
    )
    assert ran.returncode == 0
    pytest_call = " ".join(["/app/.pgstack/pytest-then-exit.py", "-n", "2", *args])
    prepare_call = "-m pgstack.cli prepare"
    expected = sorted([pytest_call, prepare_call] if early else [pytest_call])
    calls: list[str] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the background call may come after pytest's
        calls = sorted(log.read_text().splitlines())
        if len(calls) >= len(expected):
            break
        time.sleep(0.05)
    time.sleep(0.2)  # a call that should not come would have come by now
    assert sorted(log.read_text().splitlines()) == expected
