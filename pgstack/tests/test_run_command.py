"""`pgstack run -- CMD`: a command with the servers, the template and a database of its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from conftest import ENV_FILE_MIGRATION, cli
from pgstack.wait import wait_until

SHOW = (
    "import os, psycopg\n"
    "with psycopg.connect(os.environ['DATABASE_URL']) as conn:\n"
    "    print(conn.info.dbname, conn.execute('SELECT count(*) FROM items').fetchone()[0])\n"
    "raise SystemExit(int(os.environ.get('CODE', '0')))\n"
)


def _written(path) -> str:
    text = path.read_text()  # FileNotFoundError until the command wrote it
    if not text:
        raise FileNotFoundError(path)
    return text


def _exists(admin, name: str) -> bool:
    return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()


def test_exit_status_passes_through_and_the_clone_is_dropped(project, admin):
    env = {"DATABASE_URL": project.server_url}
    for code in ("0", "3"):
        result = cli(project, "run", "--", sys.executable, "-c", SHOW, env={**env, "CODE": code})
        assert result.returncode == int(code), result.stdout + result.stderr
        name, count = result.stdout.split()
        assert name.startswith("pgstack_") and name.endswith("_main") and count == "0", name
        assert f"DATABASE_URL names {name}" in result.stderr, result.stderr
        assert not _exists(admin, name)  # dropped after the command
    template = result.stderr.split("template ")[1].split()[0]
    assert _exists(admin, template)  # the template stays for the next run


def test_the_env_file_reaches_the_migrations_and_the_command(project):
    """As under pytest and `pgstack prepare`: a migration that needs an env_file variable
    builds, and the command sees the variable too (the environment still wins)."""
    pyproject = project.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'env_file = ".env.test"\n')
    (project.path / ".env.test").write_text("ITEMS_ARCHIVE_TABLE=items_archive\nMODE=file\n")
    (project.path / "migrations" / "versions" / "0002env.py").write_text(ENV_FILE_MIGRATION)
    show = (
        "import os, psycopg\n"
        "with psycopg.connect(os.environ['DATABASE_URL']) as conn:\n"
        "    conn.execute('SELECT count(*) FROM items_archive')\n"
        "print(os.environ['ITEMS_ARCHIVE_TABLE'], os.environ['MODE'])\n"
    )
    env = {"DATABASE_URL": project.server_url, "MODE": "environment"}
    result = cli(project, "run", "--", sys.executable, "-c", show, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == ["items_archive", "environment"], result.stdout


def test_unittest_suite_runs_on_its_own_database(project):
    (project.path / "tests").mkdir()
    (project.path / "tests" / "__init__.py").write_text("")
    (project.path / "tests" / "test_items.py").write_text(
        textwrap.dedent(
            """\
            import os
            import unittest

            import psycopg


            class ItemsTest(unittest.TestCase):
                def test_insert(self):
                    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
                        conn.execute("INSERT INTO items (name) VALUES ('a')")
                        count = conn.execute("SELECT count(*) FROM items").fetchone()[0]
                    self.assertEqual(count, 1)

                def test_fails_when_asked(self):
                    self.assertNotIn("FAIL", os.environ)
            """
        )
    )
    env = {"DATABASE_URL": project.server_url}
    command = ("run", "--", sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", ".")
    passed = subprocess.run(
        [sys.executable, "-m", "pgstack.cli", *command],
        cwd=project.path,  # the project is found from the current folder
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Ran 2 tests" in passed.stderr and "OK" in passed.stderr, passed.stderr
    # A second run starts again from the template (the insert went with the first clone).
    again = cli(project, *command, env=env)
    assert again.returncode == 0, again.stderr
    failed = cli(project, *command, env={**env, "FAIL": "1"})
    assert failed.returncode == 1 and "FAILED (failures=1)" in failed.stderr, failed.stderr


def test_sigterm_is_passed_on_and_cleanup_follows(project, admin, shm_dir):
    started = shm_dir / "started"
    script = (
        "import os, signal, sys, time\n"
        "def stop(signum, frame):\n"
        "    print('got', signal.Signals(signum).name, flush=True)\n"
        "    sys.exit(7)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        f"open({str(started)!r}, 'w').write(os.environ['DATABASE_URL'].rsplit('/', 1)[1])\n"
        "while True:\n"
        "    time.sleep(0.05)\n"
    )
    pgstack = [sys.executable, "-m", "pgstack.cli", "--project", str(project.path), "run"]
    process = subprocess.Popen(
        [*pgstack, "--", sys.executable, "-c", script],
        env={**os.environ, "DATABASE_URL": project.server_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        name = wait_until(
            lambda: _written(started), timeout=60, what="the command under pgstack run", fix=""
        )
        assert _exists(admin, name)
        process.send_signal(signal.SIGTERM)  # to pgstack alone, as `docker stop` does
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 7, out + err
    assert "got SIGTERM" in out, out
    assert not _exists(admin, name)
